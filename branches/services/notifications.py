"""In-portal notifications for any app, without importing the layer that stores them."""

from collections.abc import Iterable
from dataclasses import dataclass

from branches.models import OrgUnit
from branches.signals import notification_requested

TEXT_MAX = 500
URL_MAX = 300


@dataclass(frozen=True)
class Notice:
    """One message to some users about a record of `unit`, linking to a page of the portal."""

    recipients: tuple[int, ...]
    unit: OrgUnit
    text: str
    url: str = ""


def notify_users(*, recipients: Iterable, unit: OrgUnit, text: str, url: str = "") -> None:
    """Notify each recipient (users or user ids) of something about a record of `unit`.

    Call it inside the transaction of the step it announces: the notifications are stored in
    it and fall with it. A recipient named twice is notified once; nobody named, nothing sent.
    """
    notices_send([notice(recipients=recipients, unit=unit, text=text, url=url)])


def notice(*, recipients: Iterable, unit: OrgUnit, text: str, url: str = "") -> Notice:
    if not text.strip():
        raise ValueError("a notification needs a text")
    if url and (not url.startswith("/") or url.startswith("//")):
        raise ValueError("a notification links to a page of the portal (a path)")
    ids = tuple(sorted({getattr(r, "pk", r) for r in recipients if r is not None}))
    return Notice(ids, unit, text[:TEXT_MAX], url[:URL_MAX])


def notices_send(notices: Iterable[Notice]) -> None:
    """Send many notices at once (a bulk step): one insert for all of them."""
    wanted = [n for n in notices if n.recipients]
    if wanted:
        notification_requested.send(sender=OrgUnit, notices=wanted)

"""In-portal notifications through branches' seam (`notify_users`)."""

from branches.services.notifications import notify_users


def notify(*, recipients, unit, text: str, url: str) -> None:
    """Notify the active users among `recipients` (None entries dropped), in the caller's
    transaction."""
    users = [user for user in recipients if user is not None and user.is_active]
    notify_users(recipients=users, unit=unit, text=text, url=url)

"""The home page's to-do lines from the records apps (grids, disputes, volunteers).

Each app registers a provider, a function of the user returning `HomeItem`s (a count each,
made with the app's own access rule); the home page shows those with a count. `branches`
never imports the records apps: they register in their AppConfig.ready.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class HomeItem:
    label: str
    count: int
    url: str
    urgent: bool = False  # overdue: shown in red


_providers: dict[str, Callable] = {}


def home_provider_register(key: str, provider: Callable) -> None:
    _providers[key] = provider


def home_items(user) -> list[HomeItem]:
    """What needs doing in the user's jurisdiction, from every registered app, non-zero only
    (a provider makes a query or two, and none for a role with nothing to do there)."""
    return [item for provider in _providers.values() for item in provider(user) if item.count]

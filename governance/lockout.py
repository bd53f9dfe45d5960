"""How django-axes names the username of a login attempt."""

from axes.models import AccessAttempt
from django.conf import settings
from django.http import HttpRequest

# The column django-axes stores the username in (varchar 255 on PostgreSQL).
USERNAME_MAX_LENGTH = AccessAttempt._meta.get_field("username").max_length


def lockout_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The attempted username, cut to what axes can store.

    No account has a username that long (ours are at most 150 characters), so the cut
    never merges two real accounts; without it, a longer username made the failure
    handler's insert fail (PostgreSQL: value too long) and the login page answer 500.
    """
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        username = credentials.get(field)
    else:
        username = getattr(request, "data", request.POST).get(field)
    if not isinstance(username, str):
        return username
    return username[:USERNAME_MAX_LENGTH]

from django.utils.functional import SimpleLazyObject

from governance.models import Notification


def notifications(request):
    """The unread count of the top bar: counted (one query) only when a page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "unread_notifications": SimpleLazyObject(
            lambda: Notification.objects.visible_to(user).unread().count()
        )
    }

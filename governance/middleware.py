"""Request and response rules that hold for every page and API endpoint."""

from django.utils.cache import patch_cache_control

from branches.validators import text_problem


def is_api_request(request) -> bool:
    """Under /api/: answered in JSON, errors included, and never cached."""
    return request.path_info.startswith("/api/")


class RequestCharactersMiddleware:
    """Refuses a request whose path or query-string parameters hold a forbidden character.

    The answer is the 400 page (JSON under /api/): views and queries never see the value.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # The portal's one text rule, single-line: no control or bidi character at all.
        if text_problem(request.path_info) or any(
            text_problem(key) or text_problem(value)
            for key, values in request.GET.lists()
            for value in values
        ):
            # Answered here, not raised: the Chinese 400 (JSON under /api/) also with DEBUG on,
            # and no traceback in the log for what is only a hostile or mistyped address.
            from governance.views import bad_request

            return bad_request(request, None)
        return self.get_response(request)


class PrivateCacheMiddleware:
    """Marks API responses and pages for a signed-in user `Cache-Control: private, no-store`.

    They carry data scoped to one user; neither a shared proxy nor the browser's cache
    (the back button after logout on a shared office computer) may keep them. Static
    files never get here: WhiteNoise answers them earlier in the chain.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if is_api_request(request) or (user and user.is_authenticated):
            patch_cache_control(response, private=True, no_store=True)
        return response

"""Request and response rules that hold for every page and API endpoint."""

import re

from django.core.exceptions import BadRequest

# C0 controls (NUL included: PostgreSQL refuses it in a text value) and the bidi
# embedding, override and isolate characters, which make a code or name display as
# something it is not.
FORBIDDEN_CHARACTERS = re.compile("[\x00-\x1f\u202a-\u202e\u2066-\u2069]")


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
        if FORBIDDEN_CHARACTERS.search(request.path_info) or any(
            FORBIDDEN_CHARACTERS.search(key) or FORBIDDEN_CHARACTERS.search(value)
            for key, values in request.GET.lists()
            for value in values
        ):
            raise BadRequest("control or bidi character in the path or query string")
        return self.get_response(request)

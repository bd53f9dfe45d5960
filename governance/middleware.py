"""Request and response rules that hold for every page and API endpoint."""


def is_api_request(request) -> bool:
    """Under /api/: answered in JSON, errors included, and never cached."""
    return request.path_info.startswith("/api/")

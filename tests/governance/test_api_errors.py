"""API callers get JSON for every error and 401 with WWW-Authenticate when anonymous."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import include, path, reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from governance.api import MeSerializer

ANONYMOUS_API_URLS = [
    "/api/v1/",
    "/api/v1/me/",
    "/api/v1/units/",
    "/api/v1/units/410102001/",
    "/api/v1/criteria-sets/",
    "/api/v1/reports/",
    "/api/v1/ratings/",
]
UNKNOWN_API_URLS = [
    "/api/",
    "/api/v1/nothing-here/",
    "/api/v2/units/",
    "/api/v1/units/410102001/nothing-here/",
    "/api/docs/nothing-here/",
]


def is_json(response):
    return response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("url", ANONYMOUS_API_URLS)
def test_an_anonymous_api_request_answers_401_with_www_authenticate(url, tree):
    response = APIClient().get(url)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert is_json(response)
    assert response.json()["detail"]


def test_the_schema_answers_an_anonymous_caller_401_in_its_own_format(db):
    response = APIClient().get("/api/schema/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")


def test_an_anonymous_write_answers_401_too(tree):
    response = APIClient().post("/api/v1/reports/", {"unit": "410102001001"}, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_session_without_a_csrf_token_is_still_refused_a_write(personas):
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(personas.staff_a)

    response = api.post("/api/v1/reports/", {"unit": "410102001001"}, format="json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


@pytest.mark.parametrize("url", UNKNOWN_API_URLS)
def test_an_unknown_api_path_answers_a_json_404_in_chinese(url, personas, login):
    response = login(personas.staff_a).get(url)

    assert response.status_code == 404
    assert is_json(response)
    assert response.json() == {"detail": "接口不存在，请对照 API 文档（/api/docs/）检查地址。"}


@pytest.mark.parametrize("url", UNKNOWN_API_URLS)
def test_an_unknown_api_path_answers_json_404_to_anonymous_callers_too(url, db):
    response = APIClient().get(url)

    assert response.status_code == 404
    assert is_json(response)


def test_an_api_object_outside_the_jurisdiction_is_a_json_404(personas, login):
    response = login(personas.staff_b).get("/api/v1/units/410102001001/")

    assert response.status_code == 404
    assert is_json(response)


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/v1/units/", 200),
        ("/api/v1/units/410102001/", 200),
        ("/api/v1/units/nothing-here/", 404),
        ("/api/v1/nothing-here/", 404),
    ],
)
def test_a_browser_gets_json_from_the_api_too(url, status, personas, login):
    response = login(personas.staff_a).get(url, HTTP_ACCEPT=BROWSER_ACCEPT)

    assert response.status_code == status
    assert is_json(response)


def test_an_unknown_page_is_still_the_html_404_page(personas, login):
    response = login(personas.staff_a).get("/nothing-here/")

    assert response.status_code == 404
    assert not is_json(response)
    assert "页面不存在" in response.content.decode()


def test_a_crash_in_an_api_view_answers_a_json_500(personas, client, monkeypatch):
    def crash(self, instance):
        raise RuntimeError("boom")

    monkeypatch.setattr(MeSerializer, "to_representation", crash)
    client.raise_request_exception = False
    client.force_login(personas.staff_a)

    response = client.get(reverse("api-me"))

    assert response.status_code == 500
    assert is_json(response)
    assert "服务器内部错误" in response.json()["detail"]


def test_a_crash_with_a_token_answers_a_json_500_too(personas, monkeypatch):
    def crash(self, instance):
        raise RuntimeError("boom")

    monkeypatch.setattr(MeSerializer, "to_representation", crash)
    api = APIClient(raise_request_exception=False)
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=personas.staff_a)}")

    response = api.get(reverse("api-me"))

    assert response.status_code == 500
    assert is_json(response)


# Plain Django views that fail, under /api/ and outside it, beside the portal's URLs:
# DRF views turn their own errors into JSON, so only these reach the handlers.
def forbidden(request):
    raise PermissionDenied("只有管理员可以查看")


def crash(request):
    raise RuntimeError("boom")


urlpatterns = [
    path("api/test/forbidden/", forbidden),
    path("api/test/crash/", crash),
    path("test/forbidden/", forbidden),
    path("test/crash/", crash),
    path("", include("governance.urls")),
]
handler400 = "governance.views.bad_request"
handler403 = "governance.views.permission_denied"
handler404 = "governance.views.page_not_found"
handler500 = "governance.views.server_error"


@pytest.mark.urls(__name__)
class TestHandlers:
    def test_a_403_under_api_is_json(self, personas, login):
        response = login(personas.staff_a).get("/api/test/forbidden/")

        assert response.status_code == 403
        assert response.json() == {"detail": "您没有执行此操作的权限。"}

    def test_a_403_elsewhere_is_the_html_page_with_its_reason(self, personas, login):
        response = login(personas.staff_a).get("/test/forbidden/")

        assert response.status_code == 403
        assert not is_json(response)
        assert "只有管理员可以查看" in response.content.decode()

    def test_a_500_under_api_is_json(self, db, client):
        client.raise_request_exception = False

        response = client.get("/api/test/crash/")

        assert response.status_code == 500
        assert is_json(response)
        assert "服务器内部错误" in response.json()["detail"]

    def test_a_500_elsewhere_is_the_chinese_html_page(self, db, client):
        client.raise_request_exception = False

        response = client.get("/test/crash/")

        assert response.status_code == 500
        assert not is_json(response)
        assert "服务器内部错误" in response.content.decode()

    def test_the_portal_urls_use_these_handlers(self):
        from governance import urls

        assert (urls.handler400, urls.handler403, urls.handler404, urls.handler500) == (
            handler400,
            handler403,
            handler404,
            handler500,
        )


def test_a_missing_object_answers_a_chinese_404_that_names_no_model(tree, personas, login):
    response = login(personas.staff_a).get("/api/v1/units/999999/")

    assert response.status_code == 404
    assert response.json() == {"detail": "未找到：该对象不存在，或不在您的管辖范围内。"}

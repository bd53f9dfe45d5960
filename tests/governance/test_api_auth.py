"""API authentication: tokens, login lockout through the API, /me, schema and docs pages."""

import pytest
from axes.models import AccessAttempt
from django.contrib.staticfiles import finders
from django.urls import reverse
from drf_spectacular.validation import validate_schema
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import PASSWORD, PERSONA_NAMES
from tests.governance.factories import UserFactory

TOKEN_URL = reverse("api-token")
ME_URL = reverse("api-me")
UNITS_URL = reverse("unit-list")
SCHEMA_URL = reverse("api-schema")
DOCS_URL = reverse("api-docs")


@pytest.fixture
def api():
    return APIClient()


def obtain_token(api, username, password):
    return api.post(TOKEN_URL, {"username": username, "password": password}, format="json")


class TestToken:
    def test_the_right_password_gets_a_token(self, api, personas):
        response = obtain_token(api, "staff_a", PASSWORD)

        assert response.status_code == 200
        assert response.json() == {"token": Token.objects.get(user=personas.staff_a).key}

    def test_asking_again_returns_the_same_token(self, api, personas):
        first = obtain_token(api, "staff_a", PASSWORD).json()["token"]
        second = obtain_token(api, "staff_a", PASSWORD).json()["token"]

        assert first == second

    def test_a_form_encoded_request_works_too(self, api, personas):
        response = api.post(TOKEN_URL, {"username": "staff_a", "password": PASSWORD})

        assert response.status_code == 200

    def test_a_wrong_password_is_refused_in_chinese_with_the_limit(self, api, personas):
        response = obtain_token(api, "staff_a", "wrong")

        assert response.status_code == 400
        message = response.json()["non_field_errors"][0]
        assert "用户名或密码不正确" in message
        assert "5 次" in message
        assert not Token.objects.exists()

    def test_missing_fields_are_named(self, api, db):
        response = api.post(TOKEN_URL, {}, format="json")

        assert response.status_code == 400
        assert set(response.json()) == {"username", "password"}

    def test_an_inactive_user_gets_no_token(self, api, personas):
        personas.staff_a.is_active = False
        personas.staff_a.save()

        assert obtain_token(api, "staff_a", PASSWORD).status_code == 400

    def test_a_token_authenticates_api_requests(self, api, personas):
        token = obtain_token(api, "staff_a", PASSWORD).json()["token"]
        caller = APIClient()
        caller.credentials(HTTP_AUTHORIZATION=f"Token {token}")

        response = caller.get(UNITS_URL)

        assert response.status_code == 200
        assert response.json()["count"] == 5

    def test_a_wrong_token_is_refused(self, api, personas):
        api.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")

        response = api.get(UNITS_URL)

        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"

    def test_getting_a_token_stamps_last_login(self, api, personas):
        assert personas.staff_a.last_login is None

        obtain_token(api, "staff_a", PASSWORD)

        personas.staff_a.refresh_from_db()
        assert personas.staff_a.last_login is not None


def failures(username):
    attempt = AccessAttempt.objects.filter(username=username).first()
    return attempt.failures_since_start if attempt else 0


class TestLockout:
    def test_five_failures_lock_the_endpoint_even_for_the_right_password(self, api, personas):
        statuses = [obtain_token(api, "staff_a", "wrong").status_code for _ in range(5)]

        response = obtain_token(api, "staff_a", PASSWORD)

        assert statuses == [400, 400, 400, 400, 429]
        assert response.status_code == 429
        assert "登录失败次数过多" in response.json()["detail"]
        assert "30 分钟" in response.json()["detail"]
        assert response["Retry-After"] == "1800"
        assert not Token.objects.exists()

    def test_failures_through_the_api_are_counted(self, api, personas):
        for _ in range(3):
            obtain_token(api, "staff_a", "wrong")

        assert failures("staff_a") == 3

    def test_api_failures_lock_the_web_login_too(self, api, client, personas):
        for _ in range(5):
            obtain_token(api, "staff_a", "wrong")

        response = client.post(reverse("login"), {"username": "staff_a", "password": PASSWORD})

        assert response.status_code == 429
        assert "_auth_user_id" not in client.session

    def test_web_login_failures_lock_the_api_too(self, api, client, personas):
        for _ in range(5):
            client.post(reverse("login"), {"username": "staff_a", "password": "wrong"})

        assert obtain_token(api, "staff_a", PASSWORD).status_code == 429

    def test_a_successful_token_request_clears_the_failures(self, api, personas):
        for _ in range(4):
            obtain_token(api, "staff_a", "wrong")
        assert obtain_token(api, "staff_a", PASSWORD).status_code == 200

        statuses = [obtain_token(api, "staff_a", "wrong").status_code for _ in range(4)]

        assert statuses == [400] * 4
        assert obtain_token(api, "staff_a", PASSWORD).status_code == 200

    def test_the_lock_is_per_username(self, api, personas):
        for _ in range(5):
            obtain_token(api, "staff_a", "wrong")

        assert obtain_token(api, "staff_b", PASSWORD).status_code == 200


class TestMe:
    def test_it_tells_a_staff_member_their_role_and_unit(self, personas, login):
        response = login(personas.staff_a).get(ME_URL)

        assert response.json() == {
            "username": "staff_a",
            "full_name": "",
            "role": "TOWNSHIP_STAFF",
            "role_display": "乡镇(街道)工作人员",
            "unit_code": "410102001",
            "unit_name": "林山寨街道",
            "is_read_only": False,
            "can_edit_units": True,
        }

    def test_an_administrator_has_no_unit(self, personas, login):
        body = login(personas.admin).get(ME_URL).json()

        assert body["unit_code"] is None
        assert body["unit_name"] is None

    def test_it_works_with_a_token(self, api, personas):
        api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=personas.auditor)}")

        body = api.get(ME_URL).json()

        assert body["username"] == "shenji"
        assert body["is_read_only"] is True


ALL_PERSONAS = [*PERSONA_NAMES, "anonymous"]

MATRIX = [
    (ME_URL, "get", 200),
    (ME_URL, "post", 405),
    (TOKEN_URL, "get", 405),
    (SCHEMA_URL, "get", 200),
    (DOCS_URL, "get", 200),
]


@pytest.mark.parametrize("persona", ALL_PERSONAS)
@pytest.mark.parametrize(("url", "method", "expected"), MATRIX)
def test_permission_matrix(client, personas, persona, url, method, expected):
    if persona != "anonymous":
        client.force_login(getattr(personas, persona))

    response = getattr(client, method)(url)

    # The token endpoint is open to everyone (it checks credentials itself); the docs
    # page sends a browser to the login page; the rest answer an anonymous caller 401,
    # as DRF does with token authentication first.
    if persona == "anonymous" and url == DOCS_URL:
        expected = 302
    elif persona == "anonymous" and url != TOKEN_URL:
        expected = 401
    assert response.status_code == expected


class TestSchemaAndDocs:
    def test_the_schema_is_valid_openapi(self, personas, login):
        response = login(personas.staff_a).get(SCHEMA_URL, {"format": "json"})

        schema = response.json()
        validate_schema(schema)
        assert set(schema["paths"]) >= {
            "/api/v1/auth/token/",
            "/api/v1/me/",
            "/api/v1/units/",
            "/api/v1/units/{code}/",
        }
        list_parameters = {
            p["name"] for p in schema["paths"]["/api/v1/units/"]["get"]["parameters"]
        }
        assert list_parameters == {
            "parent",
            "under",
            "level",
            "area_type",
            "search",
            "page",
            "page_size",
        }

    def test_the_token_endpoint_is_documented_without_authentication(self, personas, login):
        schema = login(personas.staff_a).get(SCHEMA_URL, {"format": "json"}).json()

        operation = schema["paths"]["/api/v1/auth/token/"]["post"]
        assert operation["summary"] == "获取访问令牌"
        assert set(operation["responses"]) == {"200", "400", "415", "429"}
        assert "security" not in operation

    def test_the_docs_page_loads_swagger_ui_from_our_own_static_files(self, personas, login):
        page = login(personas.staff_a).get(DOCS_URL).content.decode()

        assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
        assert "cdn" not in page.lower()
        assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
        assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css")


def test_a_user_created_with_a_password_can_use_the_api_end_to_end(api, tree):
    UserFactory(username="secretary_x", role="SECRETARY", unit=tree.village_b1)

    token = obtain_token(api, "secretary_x", PASSWORD).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert [u["code"] for u in api.get(UNITS_URL).json()["results"]] == ["410102002001"]

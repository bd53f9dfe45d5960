"""Requests with control or bidi characters answer 400; private responses are not cached."""

from urllib.parse import quote

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

C0 = ["\x00", "\x01", "\t", "\n", "\r", "\x1b", "\x1f"]
BIDI = ["\u202a", "\u202c", "\u202e", "\u2066", "\u2069"]
# The one text rule of every entry path (branches.validators), DEL included.
FORBIDDEN = [*C0, "\x7f", *BIDI]
# Neighbours of the forbidden ranges, and ordinary text: let through.
ALLOWED = [" ", "\u2029", "\u202f", "\u2065", "\u206a", "林山寨"]


def is_json(response):
    return response["Content-Type"].startswith("application/json")


class TestRequestCharacters:
    @pytest.mark.parametrize("char", FORBIDDEN, ids=repr)
    def test_a_forbidden_character_in_a_search_query_answers_the_chinese_400_page(
        self, char, personas, login
    ):
        response = login(personas.staff_a).get(reverse("branches:unit_search"), {"q": char})

        assert response.status_code == 400
        assert not is_json(response)
        assert "请求无效" in response.content.decode()

    @pytest.mark.parametrize("char", FORBIDDEN, ids=repr)
    def test_a_forbidden_character_in_a_page_path_answers_400(self, char, personas, login):
        response = login(personas.staff_a).get(f"/units/{quote(char)}/")

        assert response.status_code == 400
        assert "请求无效" in response.content.decode()

    def test_the_400_is_the_chinese_page_and_api_json_also_with_debug_on(
        self, settings, personas, login
    ):
        settings.DEBUG = True  # `make run`: Django would otherwise show its English debug page
        client = login(personas.staff_a)

        page = client.get("/units/search/?q=%00")
        api = client.get("/api/v1/units/?search=%00")

        assert page.status_code == api.status_code == 400
        assert "请求无效" in page.content.decode()
        assert api.json()["detail"].startswith("请求无效")

    def test_a_nul_in_a_path_without_its_slash_ends_at_400_too(self, personas, login):
        response = login(personas.staff_a).get("/units/41%00", follow=True)

        assert response.status_code == 400

    def test_a_forbidden_character_in_a_parameter_name_answers_400(self, personas, login):
        response = login(personas.staff_a).get("/units/search/?q=41&%E2%80%AEpage=1")

        assert response.status_code == 400

    def test_a_forbidden_character_in_any_value_of_a_repeated_parameter_answers_400(
        self, personas, login
    ):
        response = login(personas.staff_a).get("/units/search/?q=41&q=%00")

        assert response.status_code == 400

    @pytest.mark.parametrize("char", FORBIDDEN, ids=repr)
    def test_a_forbidden_character_in_an_api_query_answers_json_400(self, char, personas, login):
        response = login(personas.staff_a).get(reverse("unit-list"), {"search": char})

        assert response.status_code == 400
        assert is_json(response)
        assert "请求无效" in response.json()["detail"]

    @pytest.mark.parametrize("char", FORBIDDEN, ids=repr)
    def test_a_forbidden_character_in_an_api_path_answers_json_400(self, char, personas, login):
        response = login(personas.staff_a).get(f"/api/v1/units/{quote(char)}/")

        assert response.status_code == 400
        assert is_json(response)

    def test_anonymous_requests_are_refused_the_same_way(self, client, db):
        assert client.get("/units/search/?q=%00").status_code == 400
        assert client.get("/accounts/login/?next=%00").status_code == 400
        assert APIClient().post("/api/v1/auth/token/?x=%00", {}).status_code == 400

    @pytest.mark.parametrize("text", ALLOWED, ids=repr)
    def test_other_characters_reach_the_search(self, text, personas, login):
        response = login(personas.staff_a).get(reverse("branches:unit_search"), {"q": text})

        assert response.status_code == 200

    @pytest.mark.parametrize("text", ALLOWED, ids=repr)
    def test_other_characters_in_a_path_are_an_ordinary_404(self, text, personas, login):
        response = login(personas.staff_a).get(f"/units/{quote(text)}/")

        assert response.status_code == 404


def directives(response):
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part}


class TestPrivateCache:
    @pytest.mark.parametrize(
        "url",
        ["/", "/units/", "/units/410102001/", "/units/search/?q=41", "/admin/", "/api/docs/"],
    )
    def test_pages_for_a_signed_in_user_are_private_and_not_stored(self, url, personas, login):
        response = login(personas.admin).get(url)

        assert response.status_code == 200
        assert {"private", "no-store"} <= directives(response)

    def test_an_error_page_for_a_signed_in_user_is_not_stored_either(self, personas, login):
        response = login(personas.staff_a).get("/units/41/")

        assert response.status_code == 404
        assert {"private", "no-store"} <= directives(response)

    @pytest.mark.parametrize(
        "url", ["/api/v1/me/", "/api/v1/units/", "/api/v1/units/410102001/", "/api/schema/"]
    )
    def test_api_responses_with_a_session_are_private_and_not_stored(self, url, personas, login):
        response = login(personas.staff_a).get(url)

        assert response.status_code == 200
        assert {"private", "no-store"} <= directives(response)

    def test_api_responses_with_a_token_are_private_and_not_stored(self, personas):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=personas.staff_a)}")

        response = api.get("/api/v1/units/")

        assert response.status_code == 200
        assert {"private", "no-store"} <= directives(response)

    @pytest.mark.parametrize(
        ("method", "url", "status"),
        [
            ("get", "/api/v1/units/", 401),
            ("post", "/api/v1/auth/token/", 400),
            ("get", "/api/v1/nothing-here/", 404),
        ],
    )
    def test_anonymous_api_responses_are_not_stored(self, method, url, status, db):
        response = getattr(APIClient(), method)(url)

        assert response.status_code == status
        assert {"private", "no-store"} <= directives(response)

    def test_the_login_page_keeps_djangos_never_cache_headers(self, db, client):
        response = client.get(reverse("login"))

        assert {"no-cache", "no-store", "must-revalidate", "private"} <= directives(response)

    def test_static_files_stay_cacheable_for_a_signed_in_user(self, personas, client, settings):
        # Tests do not collect static files: let WhiteNoise read them from the finders.
        settings.WHITENOISE_USE_FINDERS = True
        settings.WHITENOISE_AUTOREFRESH = True
        client.force_login(personas.staff_a)

        response = client.get("/static/css/portal.css")

        assert response.status_code == 200
        assert "no-store" not in directives(response)
        assert "private" not in directives(response)

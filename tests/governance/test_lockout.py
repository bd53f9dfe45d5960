"""A username longer than django-axes can store gets the ordinary failed-login answer."""

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from rest_framework.test import APIClient

from governance.lockout import USERNAME_MAX_LENGTH, lockout_username

LONG_USERNAME = "张" * 100 + "x" * 200  # 300 characters; axes stores at most 255


@pytest.fixture
def api():
    return APIClient()


def test_axes_stores_at_most_255_characters_of_a_username():
    assert USERNAME_MAX_LENGTH == 255


def test_a_long_username_at_the_login_page_is_a_wrong_login(personas, client):
    response = client.post(reverse("login"), {"username": LONG_USERNAME, "password": "wrong"})

    assert response.status_code == 200
    assert "区分大小写" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_long_username_at_the_login_page_is_counted_under_its_first_255_characters(
    personas, client
):
    client.post(reverse("login"), {"username": LONG_USERNAME, "password": "wrong"})

    attempt = AccessAttempt.objects.get()
    assert attempt.username == LONG_USERNAME[:255]
    assert attempt.failures_since_start == 1


def test_a_long_username_at_the_admin_login_is_a_wrong_login(personas, client):
    response = client.post(reverse("admin:login"), {"username": LONG_USERNAME, "password": "wrong"})

    assert response.status_code == 200
    assert "区分大小写" in response.content.decode()


def test_a_long_username_at_the_token_endpoint_gets_the_invalid_credentials_answer(api, personas):
    response = api.post(
        reverse("api-token"), {"username": LONG_USERNAME, "password": "wrong"}, format="json"
    )

    assert response.status_code == 400
    assert "用户名或密码不正确" in response.json()["non_field_errors"][0]
    assert AccessAttempt.objects.get().username == LONG_USERNAME[:255]


def test_repeated_long_usernames_are_locked_out_like_any_other(api, personas, settings):
    statuses = [
        api.post(
            reverse("api-token"), {"username": LONG_USERNAME, "password": "wrong"}, format="json"
        ).status_code
        for _attempt in range(settings.AXES_FAILURE_LIMIT)
    ]

    assert statuses == [400] * (settings.AXES_FAILURE_LIMIT - 1) + [429]


def test_the_username_comes_from_the_credentials_or_else_the_form(rf, settings):
    request = rf.post("/accounts/login/", {"username": "from_form"})

    assert lockout_username(request, {"username": "from_credentials"}) == "from_credentials"
    assert lockout_username(request) == "from_form"
    assert lockout_username(rf.post("/accounts/login/", {})) is None

"""The database unreachable: pages and the API answer 503 with Retry-After, never a 500."""

import pytest
from django.db import OperationalError
from django.test import Client
from rest_framework.authtoken.models import Token

from branches.models import OrgUnitQuerySet


@pytest.fixture
def database_down(monkeypatch):
    def unreachable(self, user):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(OrgUnitQuerySet, "visible_to", unreachable)


@pytest.fixture
def client_seeing_errors(settings, personas):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    client.force_login(personas.staff_a)
    return client


def test_a_page_answers_the_chinese_503_page_with_retry_after(database_down, client_seeing_errors):
    response = client_seeing_errors.get("/units/")

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "数据库暂时无法连接" in response.content.decode()


def test_the_api_answers_json_503_with_retry_after(database_down, settings, personas):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    token = Token.objects.create(user=personas.staff_a)

    response = client.get("/api/v1/units/", headers={"Authorization": f"Token {token.key}"})

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json() == {
        "detail": "数据库暂时无法连接，本次请求没有保存任何内容，请稍后重试。"
    }


def test_any_other_error_is_still_a_500(monkeypatch, client_seeing_errors):
    def broken(self, user):
        raise ValueError("a bug")

    monkeypatch.setattr(OrgUnitQuerySet, "visible_to", broken)

    response = client_seeing_errors.get("/units/")

    assert response.status_code == 500
    assert "Retry-After" not in response

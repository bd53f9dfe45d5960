"""The top bar: which entry is highlighted, the unread count beside the collapsed menu's
toggler, and the Chinese 404 page a production server (DEBUG off) shows."""

import re
from datetime import date

import pytest
from django.urls import reverse

from tests.governance.test_notifications import many_notifications, submitted  # noqa: F401

pytestmark = pytest.mark.usefixtures("april_third")

MARCH = date(2026, 3, 1)


def active_entries(response) -> list[str]:
    """The texts of the highlighted top-bar links."""
    html = response.content.decode()
    nav = re.search(r'<ul class="navbar-nav.*?</ul>', html, re.S).group(0)
    links = re.findall(r'<a class="nav-link active"[^>]*>(.*?)</a>', nav, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", link).split()) for link in links]


@pytest.mark.parametrize(
    ("url_name", "args", "active"),
    [
        ("home", [], ["首页"]),
        ("branches:unit_list", [], ["组织架构"]),
        ("branches:unit_detail", ["410102001"], ["组织架构"]),
        ("branches:unit_history", ["410102001"], ["组织架构"]),
        ("branches:unit_search", [], ["搜索"]),
        ("branches:summary", ["410102001"], []),
        ("branches:scorecard", ["410102001002"], []),
        ("branches:month_workbench", ["410102001"], []),
        ("branches:report_edit", ["410102001002", "2026-03"], []),
        ("branches:report_review", ["410102001", "2026-03"], []),
    ],
)
def test_the_top_bar_highlights_the_page_s_own_entry_or_none(
    url_name, args, active, personas, criteria, login
):
    response = login(personas.staff_a).get(reverse(url_name, args=args))
    assert response.status_code == 200
    assert active_entries(response) == active


def toggler(response) -> str:
    html = response.content.decode()
    return re.search(r'<button class="navbar-toggler.*?</button>', html, re.S).group(0)


def test_the_unread_count_shows_on_the_menu_toggler_too(submitted, personas, login):  # noqa: F811
    many_notifications(personas.staff_a, submitted, 3)
    button = toggler(login(personas.staff_a).get(reverse("home")))
    assert 'id="nav-toggler-count"' in button
    assert re.search(r'id="nav-toggler-count"[^>]*>3</span>', button)
    assert 'aria-label="展开菜单（3 条未读通知）"' in button


def test_without_unread_notifications_the_toggler_has_no_count(personas, login):
    button = toggler(login(personas.staff_a).get(reverse("home")))
    assert "nav-toggler-count" not in button
    assert 'aria-label="展开菜单"' in button


def test_a_missing_page_is_the_chinese_404_page_when_debug_is_off(settings, personas, login):
    settings.DEBUG = False
    response = login(personas.county_leader).get("/units/no-such-unit/")
    assert response.status_code == 404
    assert "404.html" in [t.name for t in response.templates]
    text = response.content.decode()
    assert "页面不存在，或不在您的管辖范围内" in text
    assert "返回首页" in text
    assert "Page not found" not in text


@pytest.mark.parametrize(
    ("persona", "menus"),
    [
        ("county_leader", ["督导", "基层治理"]),
        ("staff_a", ["督导", "基层治理"]),
        ("grid_worker", ["基层治理"]),
    ],
)
def test_oversight_and_the_records_apps_sit_in_two_menus(persona, menus, personas, login):
    html = login(getattr(personas, persona)).get(reverse("home")).content.decode()
    toggles = re.findall(
        r'<button type="button" class="nav-link dropdown-toggle[^"]*"[^>]*>(.*?)</button>',
        html,
        re.S,
    )
    assert [" ".join(re.sub(r"<[^>]+>", " ", t).split()) for t in toggles] == menus


def test_the_oversight_menu_is_highlighted_on_its_pages(personas, login):
    html = login(personas.county_leader).get(reverse("supervision_list")).content.decode()
    assert re.search(
        r'class="nav-link dropdown-toggle active"[^>]*>\s*<i class="bi bi-megaphone"', html
    )
    assert re.search(r'class="dropdown-item active" href="/supervision/"', html)

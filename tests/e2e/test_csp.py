"""The main pages, the API docs and the admin run in Chromium without a CSP violation.

The policy refuses inline scripts and styles; a page that still had one would log
"Refused to … because it violates the following Content Security Policy directive" to
the console, and a script that broke would raise a page error. Both are collected here.
"""

import pytest
from django.utils import timezone

from branches.services.criteria import criteria_defaults_load
from branches.services.recompute import ratings_recompute
from tests.branches.test_report_pages import submitted
from tests.e2e.test_monthly_flow import log_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture fails in CI or skips elsewhere, saying why
    expect = None

pytestmark = pytest.mark.e2e

TOWNSHIP, VILLAGE = "410102001", "410102001002"


@pytest.fixture
def period(tree, personas):
    """The current month: default criteria, 西流湖村's report submitted, every branch rated."""
    month = timezone.localdate().replace(day=1)
    criteria_defaults_load(year=month.year)
    submitted(tree.village_a2, personas.staff_a, month)
    ratings_recompute(period=month)
    return f"{month:%Y-%m}"


class Console:
    """What a page reported: CSP violations and uncaught script errors.

    Other console errors are not this test's business (the admin has no favicon link,
    so Chromium's request for /favicon.ico logs a 404).
    """

    def __init__(self, page):
        self.errors = []
        page.on(
            "console",
            lambda message: (
                self.errors.append(f"{page.url}: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))


def visit(page, path):
    response = page.goto(path)
    assert response.status == 200, path
    # Everything the page loads (chart data, the docs' schema) has come in.
    page.wait_for_load_state("networkidle")


def test_the_portal_pages_run_without_csp_violations(live_server, personas, period, new_page):
    page = new_page()
    console = Console(page)
    log_in(page, "/", personas.staff_a)
    for path in ["/", "/units/", f"/units/{TOWNSHIP}/", "/units/search/?q=41"]:
        visit(page, path)

    visit(page, f"/units/{VILLAGE}/scorecard/?period={period}")
    expect(page.locator("#history-chart canvas")).to_have_count(1)
    page.locator("#history-chart").hover()

    visit(page, f"/units/{TOWNSHIP}/summary/?period={period}")
    expect(page.locator("#level-chart canvas")).to_have_count(1)
    expect(page.locator("#star-chart canvas")).to_have_count(1)
    # The charts' tooltips are drawn as the pointer moves over them.
    page.locator("#level-chart").hover()
    page.locator("#star-chart").hover()

    visit(page, f"/units/{VILLAGE}/reports/{period}/")
    visit(page, f"/units/{TOWNSHIP}/review/{period}/")
    # The review page's select-all box, now a script file, still works.
    page.locator("#select-all").check()
    expect(page.get_by_role("checkbox", name="选择西流湖村")).to_be_checked()

    visit(page, f"/units/{TOWNSHIP}/edit/")
    assert console.errors == [], "\n".join(console.errors)


def test_the_api_docs_render_under_the_policy(live_server, personas, new_page):
    page = new_page()
    console = Console(page)
    log_in(page, "/api/docs/", personas.staff_a)

    page.wait_for_load_state("networkidle")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("五星支部门户 API")
    page.locator(".opblock-summary", has_text="/api/v1/me/").first.click()
    expect(page.get_by_role("button", name="Try it out")).to_be_visible()
    assert console.errors == [], "\n".join(console.errors)


def test_the_admin_runs_without_csp_violations(live_server, tree, personas, period, new_page):
    page = new_page()
    console = Console(page)
    log_in(page, "/", personas.admin)
    unit, user = tree.village_a1.pk, personas.staff_a.pk
    for path in [
        "/admin/",
        "/admin/branches/orgunit/",
        "/admin/branches/orgunit/add/",
        f"/admin/branches/orgunit/{unit}/change/",
        f"/admin/branches/orgunit/{unit}/history/",
        "/admin/branches/criteriaset/",
        "/admin/governance/user/",
        "/admin/governance/user/add/",
        f"/admin/governance/user/{user}/change/",
        f"/admin/governance/user/{user}/history/",
    ]:
        visit(page, path)
    # The changelist's action bar is script-driven: selecting a row shows the counter.
    visit(page, "/admin/governance/user/")
    page.locator("#action-toggle").check()
    expect(page.locator(".action-counter")).to_contain_text("选中了")
    assert console.errors == [], "\n".join(console.errors)

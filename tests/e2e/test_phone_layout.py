"""The main pages on a phone (390 × 844, Chromium): no sideways scrolling of the page, no
table header wrapped one character per line, the unread count visible beside the collapsed
menu. One test per role, each walking its pages in one browser context.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from branches.services.criteria import criteria_defaults_load
from branches.services.recompute import ratings_recompute
from tests.branches.test_report_pages import submitted
from tests.e2e.conftest import TIMEOUT_MS
from tests.e2e.test_monthly_flow import log_in
from tests.governance.test_notifications import many_notifications

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture fails in CI or skips elsewhere, saying why
    expect = None

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
COUNTY, TOWNSHIP, VILLAGE = "410102", "410102001", "410102001002"
# A header cell may take two lines of text (a sort icon beside a word), never more.
MAX_HEADER_LINES = 2

MEASURE = """(maxLines) => {
  const headers = [...document.querySelectorAll('thead th')]
    .filter(th => th.getClientRects().length)
    .map(th => {
      const style = getComputedStyle(th);
      const text = th.getBoundingClientRect().height
        - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
      return {text: th.innerText.trim(), lines: text / parseFloat(style.lineHeight)};
    });
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    // The row's tallest cell sets every cell's height; a little slack for borders.
    tall: headers.filter(h => h.lines > maxLines + 0.25),
  };
}"""


@pytest.fixture
def months(tree, personas):
    """The last closed month and the one before, rated; 西流湖村 submitted in both and
    建设路社区 in the last, so the rating pages, the leader home and the lists have rows."""
    last = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)
    before = (last - timedelta(days=1)).replace(day=1)
    for year in sorted({before.year, last.year}):
        criteria_defaults_load(year=year)
    submitted(tree.village_a2, personas.staff_a, before)
    report = submitted(tree.village_a2, personas.staff_a, last)
    submitted(tree.village_a1, personas.staff_a, last)
    for period in (before, last):
        ratings_recompute(period=period)
    many_notifications(personas.staff_a, report, 2)
    return f"{before:%Y-%m}", f"{last:%Y-%m}"


@pytest.fixture
def phone_page(browser, live_server):
    """A page in a fresh phone-sized browser context."""
    contexts = []

    def _phone_page():
        context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport=PHONE)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield _phone_page
    for context in contexts:
        context.close()


def check_fits(page, path: str) -> None:
    response = page.goto(path)
    assert response.status == 200, path
    assert_fits(page)


def assert_fits(page) -> None:
    page.wait_for_load_state("networkidle")
    path = page.url
    figures = page.evaluate(MEASURE, MAX_HEADER_LINES)
    assert figures["innerWidth"] == PHONE["width"]
    assert figures["scrollWidth"] <= figures["innerWidth"], (path, figures)
    assert figures["tall"] == [], (path, figures["tall"])


def walk(page, user, paths: list[str]) -> None:
    log_in(page, paths[0], user)
    for path in paths:
        check_fits(page, path)


def test_township_staff_pages_fit_a_phone(live_server, personas, months, phone_page, shot):
    _before, last = months
    page = phone_page()
    walk(
        page,
        personas.staff_a,
        [
            "/",
            f"/units/{TOWNSHIP}/summary/",
            f"/units/{TOWNSHIP}/summary/?period={last}&level=0#branches",
            f"/units/{VILLAGE}/scorecard/",
            f"/units/{VILLAGE}/reports/{last}/",
            f"/units/{TOWNSHIP}/workbench/",
            f"/units/{TOWNSHIP}/review/{last}/",
            f"/units/{TOWNSHIP}/",
        ],
    )
    # The menu is collapsed; the unread count shows on its toggler.
    page.goto("/")
    expect(page.get_by_role("link", name="通知")).to_be_hidden()
    expect(page.locator("#nav-toggler-count")).to_be_visible()
    expect(page.locator("#nav-toggler-count")).to_have_text("2")
    shot(page, "staff-home")


def test_leader_pages_fit_a_phone(live_server, personas, months, phone_page, shot):
    _before, last = months
    page = phone_page()
    walk(
        page,
        personas.county_leader,
        [
            "/",
            f"/units/{COUNTY}/summary/",
            f"/units/{COUNTY}/summary/?period={last}&change=up#branches",
            f"/units/{VILLAGE}/scorecard/",
            f"/units/{VILLAGE}/reports/{last}/",
            f"/units/{COUNTY}/",
        ],
    )
    page.goto("/")
    expect(page.locator("#star-overview")).to_contain_text("辖区星级概况")
    # A figure opens the branch list it counts.
    page.locator("#overview-changes a", has_text="升星").click()
    expect(page.locator("#branch-chips")).to_contain_text("较上月升星")
    assert_fits(page)
    shot(page, "leader-branch-list")

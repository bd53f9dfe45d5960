"""axe-core finds no serious or critical accessibility violation on any page type, for any role.

axe-core comes from npm (a devDependency: `make assets` installs it into node_modules/) and is
injected into each page by the test; it is never served by the portal. Its script is inline
from the page's point of view, so the contexts here bypass the Content-Security-Policy
(tests/e2e/test_csp.py checks the policy itself).

One browser, one context per role; every role opens the pages its navigation leads to on the
small shared hierarchy (tests/conftest.py) with this month's reports in every state.
"""

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from branches.services import workflow
from branches.services.criteria import criteria_defaults_load
from branches.services.recompute import ratings_recompute
from tests.branches.test_report_pages import approved, submitted
from tests.e2e.conftest import TIMEOUT_MS
from tests.governance.factories import PASSWORD

pytestmark = pytest.mark.e2e

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")

PROVINCE, COUNTY, TOWNSHIP_A, TOWNSHIP_B = "41", "410102", "410102001", "410102002"
URBAN, RURAL, COMPOUND = "410102001001", "410102001002", "410102001001001"


@pytest.fixture
def month(tree, personas):
    """This month: 西流湖村 returned (a notification for staff A), 建设路社区 approved, 须水村
    submitted; every branch rated."""
    period = timezone.localdate().replace(day=1)
    criteria_defaults_load(year=period.year)
    returned = submitted(tree.village_a2, personas.staff_a, period)
    workflow.report_return(
        report=returned,
        user=personas.staff_a2,
        reason="主题党日记录缺少签到表，请补充。",
        expected_version=returned.version,
    )
    approved(tree.village_a1, personas.staff_a, period, checker=personas.staff_a2)
    submitted(tree.village_b1, personas.staff_b, period)
    ratings_recompute(period=period)
    return f"{period:%Y-%m}"


def pages(role: str, p: str) -> list[str]:
    """The page types each role reaches from its navigation, with this month `p`."""
    common = [
        "/",
        "/units/",
        "/units/search/?q=村",
        "/notifications/",
        "/units/no-such-unit/",
        "/exports/",
    ]
    township = [
        f"/units/{TOWNSHIP_A}/",
        f"/units/{TOWNSHIP_A}/summary/?period={p}",
        f"/units/{TOWNSHIP_A}/review/{p}/",
        f"/units/{TOWNSHIP_A}/workbench/",
        f"/units/{TOWNSHIP_A}/reports/{p}/sheet/",
        f"/units/{RURAL}/",
        f"/units/{RURAL}/history/",
        f"/units/{RURAL}/scorecard/?period={p}",
        f"/units/{RURAL}/reports/{p}/",
        f"/units/{URBAN}/reports/{p}/",
    ]
    return (
        common
        + {
            "admin": [
                "/units/import/",
                "/exports/log/",
                f"/units/{PROVINCE}/",
                f"/units/{COUNTY}/summary/?period={p}",
                f"/units/{TOWNSHIP_A}/edit/",
                *township,
            ],
            # The township's page types once more for a reader role are enough (county leader).
            "province_leader": [f"/units/{PROVINCE}/summary/?period={p}"],
            "county_leader": [f"/units/{COUNTY}/summary/?period={p}", *township],
            # A month that cannot be opened: its 404 page says why.
            "staff_a": [*township, f"/units/{RURAL}/reports/2999-01/"],
            "staff_b": [
                f"/units/{TOWNSHIP_B}/review/{p}/",
                f"/units/{TOWNSHIP_B}/workbench/",
                f"/units/{TOWNSHIP_B}/summary/?period={p}",
                f"/units/{TOWNSHIP_B}001/reports/{p}/",
                # Another township's branch: the 404 page.
                f"/units/{RURAL}/reports/{p}/",
            ],
            "secretary": [
                f"/units/{URBAN}/",
                f"/units/{URBAN}/scorecard/?period={p}",
                f"/units/{URBAN}/reports/{p}/",
                # A page the role may not open: the 403 page.
                "/units/import/",
            ],
            "auditor": [f"/units/{COUNTY}/summary/?period={p}", "/exports/log/"],
            "grid_worker": [f"/units/{COMPOUND}/", "/units/import/"],
        }[role]
    )


def axe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [v for v in result if v["impact"] in BLOCKING]


def described(url: str, violation: dict) -> str:
    nodes = "\n".join(
        f"      {', '.join(node['target'])}: {node['failureSummary'].splitlines()[-1].strip()}"
        for node in violation["nodes"][:5]
    )
    more = len(violation["nodes"]) - 5
    return f"{url}  [{violation['impact']}] {violation['id']}: {violation['help']}\n{nodes}" + (
        f"\n      … and {more} more" if more > 0 else ""
    )


def log_in(page, user) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_no_page_has_a_serious_or_critical_axe_violation_for_any_role(
    live_server, browser, personas, month
):
    assert AXE.is_file(), f"{AXE} is missing: `make assets` installs axe-core from npm"
    found, checked = [], []

    def check(page, url):
        response = page.goto(url)
        assert response.status < 500, (url, response.status)
        checked.append(url)
        found.extend(described(url, v) for v in axe_violations(page))

    def context():
        made = browser.new_context(
            base_url=live_server.url,
            locale="zh-CN",
            viewport={"width": 1280, "height": 900},
            bypass_csp=True,
        )
        made.set_default_timeout(TIMEOUT_MS)
        return made

    anonymous = context()
    page = anonymous.new_page()
    check(page, "/accounts/login/")
    # A failed login shows the form's errors.
    page.get_by_label("用户名").fill("nobody")
    page.get_by_label("密码").fill("wrong")
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()
    found.extend(described("login (failed)", v) for v in axe_violations(page))
    anonymous.close()

    for role, user in vars(personas).items():
        if role == "staff_a2":
            continue
        role_context = context()
        page = role_context.new_page()
        log_in(page, user)
        for url in pages(role, month):
            check(page, f"{url}")
        if role == "staff_a":
            # The data-entry form after a failed save: its error summary and invalid fields.
            page.goto(f"/units/{RURAL}/reports/{month}/")
            page.locator("input[name^='value-'][type='text']").first.fill("很多")
            page.get_by_role("button", name="保存草稿").click()
            page.wait_for_load_state()
            found.extend(described("report (failed save)", v) for v in axe_violations(page))
        role_context.close()

    print(json.dumps({"pages checked": len(checked)}))
    assert not found, "axe-core found serious or critical violations:\n" + "\n".join(found)

"""The monthly flow in a real browser, as a new user goes through it.

Township staff log in, fill and submit a village's current month with evidence, a
reviewer of the same township approves it, the rating is computed at commit (tasks run
in-process in tests), and the branch scorecard and the township summary show the level
with its gaps explained. Runs on the real clock: the current month, whatever it is.
"""

import re
from decimal import ROUND_CEILING

import pytest
from django.utils import timezone

from branches.forms.reports import plain_number
from branches.models import (
    BranchRating,
    Criterion,
    Evidence,
    MonthlyReport,
    Rating,
    StarAssessment,
)
from branches.services import workflow
from branches.services.criteria import criteria_defaults_load
from governance.models import User
from tests.branches.factories import passing_value
from tests.governance.factories import PASSWORD, UserFactory

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture fails in CI or skips elsewhere, saying why
    expect = None

pytestmark = pytest.mark.e2e

VILLAGE = "410102001002"  # 西流湖村 (rural) in 林山寨街道
TOWNSHIP = "410102001"
EVIDENCE = {"name": "主题党日记录.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 e2e"}


@pytest.fixture
def month():
    """The current month as the server sees it, and its default criteria loaded."""
    period = timezone.localdate().replace(day=1)
    criteria_defaults_load(year=period.year)
    return period


def typed(criterion: Criterion) -> str:
    """A passing value as a person types it (whole numbers where the criterion counts)."""
    value = passing_value(criterion)
    if criterion.kind == Criterion.Kind.INTEGER:
        value = value.to_integral_value(rounding=ROUND_CEILING)
    return plain_number(value)


def log_in(page, path: str, user: User) -> None:
    """Opens a page as a logged-out user would: the login form first, then the page."""
    page.goto(path)
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))


def test_township_staff_submit_a_month_the_reviewer_approves_it_and_the_rating_shows(
    live_server, tree, personas, month, new_page, shot
):
    period = f"{month:%Y-%m}"
    report_path = f"/units/{VILLAGE}/reports/{period}/"
    reviewer = UserFactory(
        username="reviewer_a", role=User.Role.TOWNSHIP_STAFF, unit=tree.township_a
    )
    criteria_set = workflow.active_criteria_set(
        year=month.year, area_type=tree.village_a2.area_type
    )
    criteria = workflow.manual_criteria(criteria_set)
    with_evidence = [c for c in criteria if c.evidence_required]
    assert criteria and with_evidence, "the default rural catalogue has manual criteria"

    # Township staff A fills in the month.
    page = new_page()
    log_in(page, report_path, personas.staff_a)
    expect(page.get_by_role("heading", level=1)).to_contain_text("西流湖村")
    for c in criteria:
        if c.kind == Criterion.Kind.BOOLEAN:
            choices = page.get_by_role("radiogroup", name=c.title, exact=True)
            choices.get_by_label("是", exact=True).check()
        else:
            # The number input has no accessible name of its own; its form name is stable.
            page.locator(f'input[name="value-{c.code}"]').fill(typed(c))
    for c in with_evidence:
        page.get_by_label(f"{c.title} 佐证材料", exact=True).set_input_files(EVIDENCE)
    shot(page, "entry-filled")

    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_role("alert").filter(has_text="草稿已保存")).to_be_visible()
    # Every value and file is in: nothing is left to complete before submitting.
    expect(page.get_by_role("link", name=EVIDENCE["name"])).to_have_count(len(with_evidence))
    expect(page.get_by_text("提交前还需完成")).to_have_count(0)
    shot(page, "draft-saved")

    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="已提交，等待乡镇(街道)审核")).to_be_visible()
    expect(page.get_by_role("button", name="提交", exact=True)).to_have_count(0)
    shot(page, "submitted")

    # A reviewer of the same township approves it on the township's review page.
    page = new_page()
    log_in(page, f"/units/{TOWNSHIP}/review/{period}/", reviewer)
    row = page.get_by_role("row").filter(has_text="西流湖村")
    expect(row).to_contain_text("已提交")
    row.get_by_role("checkbox", name="选择西流湖村").check()
    shot(page, "review-selected")
    page.get_by_role("button", name="审核通过").click()
    expect(page.get_by_role("alert").filter(has_text="已审核通过 1 份报表")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="西流湖村")).to_contain_text("已审核")
    shot(page, "approved")

    report = MonthlyReport.objects.get(unit=tree.village_a2, period=month)
    assert report.criteria_set == criteria_set
    assert report.status == MonthlyReport.Status.APPROVED
    assert report.reviewed_by == reviewer
    assert Evidence.objects.filter(value__report=report).count() == len(with_evidence)
    # Computed when the approval committed (tasks run in-process in this test).
    rating = BranchRating.objects.get(unit=tree.village_a2, period=month, kind=Rating.MONTHLY)
    assessments = list(
        StarAssessment.objects.filter(unit=tree.village_a2, period=month, kind=Rating.MONTHLY)
    )
    assert [a.star for a in sorted(assessments, key=lambda a: a.star)] == [1, 2, 3, 4, 5]
    if month.month == 1:
        # The year so far is this one complete month: every star is held.
        assert rating.level == 5
        assert all(a.is_met and not a.gaps for a in assessments)
    else:
        # 主题党日 is required every month and the earlier months were never filled.
        first = next(a for a in assessments if a.star == 1)
        assert not first.is_met
        assert any("未填报：主题党日按月开展" in gap for gap in first.gaps)
        assert rating.level < 5

    # The branch scorecard shows that level and explains every star.
    page.goto(f"/units/{VILLAGE}/scorecard/?period={period}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("西流湖村")
    expect(page.get_by_text(re.compile(rf"^{rating.level} 星"))).to_be_visible()
    for a in assessments:
        card = page.locator(".card.border-top").filter(has_text=a.star_name)
        expect(card).to_contain_text("已获得" if a.is_met else "未获得")
        for gap in a.gaps:
            expect(card).to_contain_text(gap.removeprefix(f"{a.star_name}："))
    if month.month == 1:
        expect(page.get_by_text("各项指标均已达标。")).to_have_count(5)
    else:
        expect(page.get_by_text("未填报：主题党日按月开展")).to_be_visible()
    shot(page, "scorecard")

    # The township summary lists the branch at the same level, and drills down to it.
    page.goto(f"/units/{TOWNSHIP}/summary/?period={period}")
    branch_row = page.locator("#branch-table tbody tr").filter(has_text="西流湖村")
    expect(branch_row).to_contain_text(f"{rating.level}星")
    shot(page, "summary")
    branch_row.get_by_role("link", name="西流湖村").click()
    expect(page).to_have_url(re.compile(rf"/units/{VILLAGE}/scorecard/\?period={period}$"))


def test_staff_of_another_township_get_404_on_the_village_data_entry_page(
    live_server, personas, month, new_page, shot
):
    page = new_page()
    log_in(page, "/", personas.staff_b)
    response = page.goto(f"/units/{VILLAGE}/reports/{month:%Y-%m}/")
    assert response.status == 404
    expect(page.get_by_text("西流湖村")).to_have_count(0)
    expect(page.locator('input[name^="value-"]')).to_have_count(0)
    shot(page, "other-township-404")
    assert not MonthlyReport.objects.filter(unit__code=VILLAGE).exists()

"""The leader home: the jurisdiction's stars in the last closed month against the month
before, the month's report completeness and the most-missed criteria, each linked to the
summary's branch list filtered to exactly the branches the figure counts.

The scene (3 April 2026, so March is the last closed month), rated by the real recompute:
中原区 holds 建设路社区 A1 (urban, five stars both months), 西流湖村 A2 (三星 in February:
卫生厕所普及率 85% fails; five stars in March), 须水村 B1 (five stars in February; in March
村级后备干部, 安全隐患排查 and 群众满意度 fail: 二星) and 后寨村 C (nothing reported but a
March draft: no star either month). 淮河村 in the other county fails 卫生厕所普及率 and
群众满意度 in March and must never reach the county leader's figures.
"""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from branches.catalogue import default_catalogue
from branches.models import BranchRating, MonthlyReport, OrgUnit, Rating, StarAssessment
from branches.models.assessments import BranchRatingQuerySet, failing_q
from branches.rating import assess
from branches.services import dashboards, recompute
from branches.services.criteria import criteria_defaults_load
from branches.views import dashboards as dashboard_views
from governance.models import User
from tests.branches.factories import OrgUnitFactory
from tests.branches.test_recompute import put_reports
from tests.governance.factories import UserFactory

Status = MonthlyReport.Status
FEBRUARY, MARCH = date(2026, 2, 1), date(2026, 3, 1)

pytestmark = pytest.mark.usefixtures("april_third", "_manual_default_sets")


@pytest.fixture
def _manual_default_sets(monkeypatch):
    """The figures described here are those of the manual rows (see tests/branches/conftest)."""
    monkeypatch.setattr("branches.catalogue.registered_metric_rows", lambda area_type: ())


@pytest.fixture
def criteria(db):
    return {s.area_type: s for s in criteria_defaults_load(year=2026)}


@pytest.fixture
def scene(tree, criteria):
    village_c = OrgUnitFactory(
        code="410102002002", name="后寨村", level=OrgUnit.Level.VILLAGE, parent=tree.township_b
    )
    put_reports(tree.village_a1, criteria, [1, 2], Status.APPROVED)
    put_reports(tree.village_a1, criteria, [3], Status.APPROVED)
    put_reports(tree.village_a2, criteria, [1])
    put_reports(tree.village_a2, criteria, [2], **{"EC-02": Decimal(85)})
    put_reports(tree.village_a2, criteria, [3])
    put_reports(tree.village_b1, criteria, [1, 2])
    put_reports(
        tree.village_b1,
        criteria,
        [3],
        **{"BR-03": Decimal(1), "SA-05": Decimal(0), "CI-04": Decimal(80)},
    )
    put_reports(village_c, criteria, [3], Status.DRAFT)
    put_reports(tree.village_other, criteria, [1, 2])
    put_reports(tree.village_other, criteria, [3], **{"EC-02": Decimal(50), "CI-04": Decimal(70)})
    recompute.ratings_recompute(period=FEBRUARY)
    recompute.ratings_recompute(period=MARCH)
    tree.village_c = village_c
    return tree


def levels(period):
    ratings = BranchRating.objects.filter(period=period, kind=Rating.MONTHLY)
    return {r.unit.name: r.level for r in ratings.select_related("unit")}


def test_the_scene_is_rated_as_described(scene):
    assert levels(FEBRUARY) == {
        "建设路社区": 5,
        "西流湖村": 3,
        "须水村": 5,
        "后寨村": 0,
        "淮河村": 5,
    }
    assert levels(MARCH) == {"建设路社区": 5, "西流湖村": 5, "须水村": 2, "后寨村": 0, "淮河村": 2}


def home(client):
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response


def test_a_county_leader_sees_the_star_figures_of_the_county_only(scene, personas, login):
    overview = home(login(personas.county_leader)).context["overview"]

    assert overview["period"] == MARCH
    assert overview["previous"] == FEBRUARY
    assert [row["count"] for row in overview["levels"]] == [1, 0, 1, 0, 0, 2]
    assert [row["delta"] for row in overview["levels"]] == [0, 0, 1, -1, 0, 0]
    assert overview["figures"]["total"] == 4
    assert overview["changes"] == {"up": 1, "down": 1, "same": 2, "new": 0}
    completeness = overview["completeness"]
    assert (completeness["expected"], completeness["approved"], completeness["submitted"]) == (
        4,
        1,
        2,
    )
    assert completeness["unsubmitted"] == 1
    # B1 and C fail these three; C (no counted month) fails every rural criterion once.
    assert [(row["code"], row["failing"]) for row in overview["most_missed"]] == [
        ("BR-03", 2),
        ("CI-04", 2),
        ("SA-05", 2),
    ]


def test_the_province_leader_counts_the_other_county_too(scene, personas, login):
    overview = home(login(personas.province_leader)).context["overview"]

    assert overview["figures"]["total"] == 5
    assert overview["changes"] == {"up": 1, "down": 2, "same": 2, "new": 0}
    assert overview["completeness"]["expected"] == 5
    assert overview["completeness"]["submitted"] == 3
    assert [(row["code"], row["failing"]) for row in overview["most_missed"]] == [
        ("CI-04", 3),
        ("BR-03", 2),
        ("EC-02", 2),
    ]


def test_the_home_page_shows_the_figures_in_chinese(scene, personas, login):
    text = " ".join(
        re.sub(r"<[^>]+>", " ", home(login(personas.county_leader)).content.decode()).split()
    )
    assert "辖区星级概况 · 2026年3月" in text
    assert "与 2026年2月 相比" in text
    assert "已提交 3 / 应报 4 个支部（75.0%）" in text
    assert "村级后备干部人数" in text
    assert "2 个支部未达标（50.0%）" in text


def figure_links(response) -> dict[str, str]:
    """Each link of the overview to the branch list: {query string: href}."""
    html = response.content.decode()
    section = re.search(r'<section[^>]*id="star-overview".*?</section>', html, re.S).group(0)
    links = re.findall(r'href="([^"]*/summary/\?[^"]*)"', section)
    return {link.split("?", 1)[1].split("#")[0].replace("&amp;", "&"): link for link in links}


def listed_names(client, href) -> list[str]:
    response = client.get(href.replace("&amp;", "&"))
    assert response.status_code == 200
    assert response.context["page"].paginator.count == len(response.context["rows"])
    return sorted(row["name"] for row in response.context["rows"])


def test_each_figure_links_to_the_list_of_exactly_the_branches_it_counts(scene, personas, login):
    client = login(personas.county_leader)
    links = figure_links(home(client))
    expected = {
        "period=2026-03&level=0": ["后寨村"],
        "period=2026-03&level=2": ["须水村"],
        "period=2026-03&level=5": ["建设路社区", "西流湖村"],
        "period=2026-03&level=3": [],
        "period=2026-03&change=up": ["西流湖村"],
        "period=2026-03&change=down": ["须水村"],
        "period=2026-03&change=same": ["后寨村", "建设路社区"],
        "period=2026-03&report=APPROVED": ["建设路社区"],
        "period=2026-03&report=SUBMITTED": ["西流湖村", "须水村"],
        "period=2026-03&report=UNSUBMITTED": ["后寨村"],
        "period=2026-03&criterion=BR-03": ["后寨村", "须水村"],
        "period=2026-03&criterion=CI-04": ["后寨村", "须水村"],
        "period=2026-03&criterion=SA-05": ["后寨村", "须水村"],
    }
    assert set(expected) <= set(links)
    for query, names in expected.items():
        assert listed_names(client, links[query]) == names, query


def test_the_list_filters_stay_inside_the_jurisdiction(scene, personas, login):
    client = login(personas.province_leader)
    url = reverse("branches:summary", args=[scene.province.code])
    assert listed_names(client, f"{url}?period=2026-03&criterion=EC-02") == ["后寨村", "淮河村"]
    county = reverse("branches:summary", args=[scene.county.code])
    assert listed_names(client, f"{county}?period=2026-03&criterion=EC-02") == ["后寨村"]
    other = reverse("branches:summary", args=[scene.other_county.code])
    response = login(personas.county_leader).get(f"{other}?period=2026-03&change=down")
    assert response.status_code == 404


def test_a_filtered_list_names_its_filters_and_keeps_them_when_the_area_changes(
    scene, personas, login
):
    url = reverse("branches:summary", args=[scene.county.code])
    response = login(personas.county_leader).get(f"{url}?period=2026-03&criterion=CI-04")
    html = response.content.decode()
    assert "未达标：群众满意度" in html
    assert '<input type="hidden" name="criterion" value="CI-04">' in html
    assert ("criterion", "CI-04") in response.context["keep"]


@pytest.mark.parametrize(
    "query",
    [
        "level=9",
        "level=-1",
        "change=sideways",
        "report=LOST",
        "criterion=NO-SUCH",
        "criterion=" + "X" * 300,
        "criterion=%E4%B8%AD",
        "level=%00",
    ],
)
def test_an_unknown_filter_value_is_left_out_not_an_error(query, scene, personas, login):
    url = reverse("branches:summary", args=[scene.county.code])
    response = login(personas.county_leader).get(f"{url}?period=2026-03&{query}")
    if "%00" in query:  # refused by the middleware before any view runs
        assert response.status_code == 400
        return
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 4
    assert response.context["chips"] == []


def test_every_change_and_report_state_the_queryset_knows_has_a_label():
    assert set(dashboard_views.CHANGE_LABELS) == set(BranchRatingQuerySet.CHANGES)
    assert set(dashboard_views.REPORT_LABELS) == set(BranchRatingQuerySet.REPORT_STATES)


def test_the_report_filter_does_not_apply_to_the_annual_rating(scene, personas, login):
    url = reverse("branches:summary", args=[scene.county.code])
    response = login(personas.county_leader).get(f"{url}?kind=ANNUAL&report=APPROVED")
    assert response.status_code == 200
    assert response.context.get("chips", []) == []


def test_the_veto_counts_once_for_its_own_criterion(tree, criteria):
    """An all-stars veto copies its gap under every star: it is still one branch failing one
    criterion (VT-02), and the stars it wipes are no failure of their own criteria."""
    put_reports(tree.village_a2, criteria, [1, 2])
    put_reports(tree.village_a2, criteria, [3], **{"VT-02": Decimal(1)})
    recompute.ratings_recompute(period=MARCH, unit_ids=[tree.village_a2.pk])
    assert BranchRating.objects.get(unit=tree.village_a2, period=MARCH).level == 0
    rows = StarAssessment.objects.filter(period=MARCH, kind=Rating.MONTHLY)

    assert [(r["code"], r["failing"]) for r in dashboards.most_missed(rows, year=2026)] == [
        ("VT-02", 1)
    ]


@pytest.mark.parametrize("area_type", [OrgUnit.AreaType.RURAL, OrgUnit.AreaType.URBAN])
def test_each_criterion_s_failure_is_matched_by_its_own_patterns_only(area_type, criteria):
    """For every manual criterion of the default sets, one branch fails only it (every
    month, the other criteria passing): `failing_q` of a criterion finds exactly its branch."""
    criteria_set = criteria[area_type]
    township = OrgUnitFactory(level=OrgUnit.Level.TOWNSHIP)
    all_criteria = list(criteria_set.criteria.select_related("criteria_set"))
    manual = [c for c in all_criteria if c.source == c.Source.MANUAL]
    branch_of = {}
    for criterion in manual:
        unit = OrgUnitFactory(parent=township, level=OrgUnit.Level.VILLAGE, area_type=area_type)
        put_reports(unit, criteria, [1, 2, 3], **{criterion.code: _failing_value(criterion)})
        branch_of[criterion.code] = unit.pk
    recompute.ratings_recompute(period=MARCH)
    rows = StarAssessment.objects.filter(period=MARCH, kind=Rating.MONTHLY, is_met=False)
    for criterion in all_criteria:
        found = set(rows.filter(failing_q([criterion])).values_list("unit_id", flat=True))
        expected = {branch_of[criterion.code]} if criterion.code in branch_of else set()
        assert found == expected, criterion.code


def _failing_value(criterion):
    if criterion.kind == criterion.Kind.BOOLEAN:
        return False
    if criterion.comparator == criterion.Comparator.LTE:
        return criterion.threshold + 1
    return Decimal(0)


def test_the_engine_words_a_month_without_values_as_the_patterns_expect():
    """`assess` names each criterion of a month without values "星名：未填报：标题（1月）"."""
    catalogue = default_catalogue(OrgUnit.AreaType.RURAL)
    result = assess(catalogue.to_spec(), month=1, values={}, metrics={})
    first = catalogue.criteria[0]
    name = catalogue.star_names[first["star"] - 1]
    assert f"{name}：未填报：{first['title']}（1月）" in result.gaps


def test_empty_state_when_nothing_closed_is_rated(tree, personas, login, criteria):
    response = home(login(personas.county_leader))
    assert response.context["overview"] is None
    assert "辖区内还没有已结束月份的星级评定。" in response.content.decode()


def test_an_open_month_alone_is_not_shown_as_the_last_closed_one(tree, personas, login, criteria):
    put_reports(tree.village_a2, criteria, [4])
    recompute.ratings_recompute(period=date(2026, 4, 1))
    response = home(login(personas.county_leader))
    assert response.context["overview"] is None


def test_without_ratings_the_month_before_the_change_is_not_invented(
    tree, personas, login, criteria
):
    put_reports(tree.village_a2, criteria, [1, 2, 3])
    recompute.ratings_recompute(period=MARCH)
    overview = home(login(personas.county_leader)).context["overview"]
    assert overview["changes"] is None
    assert (
        "2026年2月辖区内没有星级评定，无法比较。"
        in home(login(personas.county_leader)).content.decode()
    )


@pytest.mark.parametrize(
    ("persona", "shown"),
    [
        ("province_leader", True),
        ("county_leader", True),
        ("auditor", True),
        ("staff_a", False),
        ("secretary", False),
        ("grid_worker", False),
        ("admin", False),
    ],
)
def test_leaders_and_auditors_get_the_star_figures_others_do_not(
    persona, shown, scene, personas, login
):
    response = home(login(getattr(personas, persona)))
    assert response.context["show_overview"] is shown
    assert ('id="star-overview"' in response.content.decode()) is shown


def test_a_township_leader_sees_the_township_figures(scene, login):
    leader = UserFactory(username="zhen_leader", role=User.Role.LEADER, unit=scene.township_b)
    overview = home(login(leader)).context["overview"]
    assert overview["figures"]["total"] == 2  # 须水村 and 后寨村
    assert overview["changes"] == {"up": 0, "down": 1, "same": 1, "new": 0}


def test_the_home_queries_do_not_grow_with_the_jurisdiction(
    scene, criteria, personas, login, django_assert_max_num_queries
):
    client = login(personas.county_leader)
    with django_assert_max_num_queries(30) as small:
        home(client)
    for _ in range(12):
        village = OrgUnitFactory(level=OrgUnit.Level.VILLAGE, parent=scene.township_a)
        put_reports(village, criteria, [1, 2, 3])
    recompute.ratings_recompute(period=FEBRUARY)
    recompute.ratings_recompute(period=MARCH)
    with django_assert_max_num_queries(len(small.captured_queries)) as large:
        overview = home(client).context["overview"]
    assert overview["figures"]["total"] == 16
    assert len(large.captured_queries) == len(small.captured_queries)


@pytest.mark.parametrize("page", ["scorecard", "summary"])
@pytest.mark.parametrize("period", ["2026-13", "2026-00"])
def test_a_month_out_of_range_on_a_rating_page_says_so_in_chinese(
    page, period, scene, personas, login
):
    unit = scene.village_a2 if page == "scorecard" else scene.county
    url = reverse(f"branches:{page}", args=[unit.code])
    response = login(personas.county_leader).get(url, {"period": period})
    assert response.status_code == 404
    text = response.content.decode()
    assert f"月份超出范围：月应在 1 至 12 之间，收到的是“{period}”。" in text
    assert "YYYY-MM" not in text

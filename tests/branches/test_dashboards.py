"""The rating pages: a branch's scorecard and a unit's summary, with their JSON endpoints."""

import json
import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from branches.models import BranchRating, OrgUnit, Rating, StarAssessment
from branches.services import recompute
from branches.services.criteria import criteria_defaults_load
from tests.branches.factories import OrgUnitFactory
from tests.branches.test_recompute import put_reports
from tests.conftest import PERSONA_NAMES

MARCH, FEBRUARY = date(2026, 3, 1), date(2026, 2, 1)
YEAR_2026 = date(2026, 1, 1)
URBAN, RURAL = OrgUnit.AreaType.URBAN, OrgUnit.AreaType.RURAL


pytestmark = pytest.mark.usefixtures("april_third")


@pytest.fixture
def criteria(db):
    return {s.area_type: s for s in criteria_defaults_load(year=2026)}


def rate(unit, criteria, level=None, *, held=(), period=MARCH, kind=Rating.MONTHLY, veto="NONE"):
    """A stored rating with its five star assessments; a missing star gets one gap."""
    held = set(held) if held else set(range(6 - (level or 0), 6)) if level else set()
    criteria_set = criteria[unit.area_type]
    names = criteria_set.star_names
    now = timezone.now()
    for star in range(1, 6):
        gaps = [] if star in held else [f"{names[star - 1]}：指标{star}未达标"]
        if veto == "ALL":
            gaps.insert(0, "一票否决：发生重大安全事故 1 起")
        StarAssessment.objects.create(
            unit=unit,
            unit_path=unit.path,
            period=period,
            kind=kind,
            star=star,
            star_name=names[star - 1],
            is_met=star in held,
            gaps=gaps,
            inputs={},
            criteria_set=criteria_set,
            computed_at=now,
        )
    return BranchRating.objects.create(
        unit=unit,
        unit_path=unit.path,
        area_type=unit.area_type,
        period=period,
        kind=kind,
        level=len(held),
        **{f"has_star_{n}": n in held for n in range(1, 6)},
        veto=veto,
        gap_count=5 - len(held),
        criteria_set=criteria_set,
        computed_at=now,
    )


@pytest.fixture
def scene(tree, criteria):
    """March: A1 (urban) five stars; A2 (rural) stars 2-4; B1 vetoed; the other county four."""
    rate(tree.village_a1, criteria, 5)
    rate(tree.village_a2, criteria, held=[2, 3, 4])
    rate(tree.village_b1, criteria, 0, veto="ALL")
    rate(tree.village_other, criteria, 4)
    rate(tree.village_a2, criteria, held=[2], period=FEBRUARY)
    return tree


def scorecard_url(unit, **query):
    return _with_query(reverse("branches:scorecard", args=[unit.code]), query)


def summary_url(unit, **query):
    return _with_query(reverse("branches:summary", args=[unit.code]), query)


def _with_query(url, query):
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def text_of(response) -> str:
    """The page's visible text with tags dropped and whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def table_rows(response, table_id) -> list[list[str]]:
    html = response.content.decode()
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S).group(0)
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append([" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in cells])
    return rows


def listed_codes(response) -> list[str]:
    return [row["code"] for row in response.context["rows"]]


# The branch scorecard.


def test_the_scorecard_shows_the_level_each_star_and_its_gaps(scene, personas, login):
    response = login(personas.staff_a).get(scorecard_url(scene.village_a2))
    assert response.status_code == 200
    text = text_of(response)
    assert "★★★☆☆" in text
    assert "3 星" in text
    card = response.context["card"]
    assert [(s["name"], s["is_met"]) for s in card["stars"]] == [
        ("支部过硬星", False),
        ("产业兴旺星", True),
        ("生态宜居星", True),
        ("平安法治星", True),
        ("文明幸福星", False),
    ]
    # The star's own name is not repeated under its heading.
    assert card["stars"][4]["gaps"] == ["指标5未达标"]
    assert "指标1未达标" in text
    assert "2026年农村“五星”支部创建指标（示例默认值）" in text
    assert "第1版" in text
    assert "2026年3月" in text


def test_the_scorecard_defaults_to_the_latest_rated_month(scene, personas, login):
    response = login(personas.staff_a).get(scorecard_url(scene.village_a2))
    assert response.context["nav"]["value"] == "2026-03"
    february = login(personas.staff_a).get(scorecard_url(scene.village_a2, period="2026-02"))
    assert february.context["card"]["level"] == 1


def test_the_scorecard_explains_real_gaps_from_a_recompute(tree, criteria, personas, login):
    put_reports(tree.village_a2, criteria, [1, 2, 3], **{"EC-02": Decimal(85)})
    recompute.ratings_recompute(period=MARCH, unit_ids=[tree.village_a2.pk])
    response = login(personas.county_leader).get(scorecard_url(tree.village_a2))
    stars = response.context["card"]["stars"]
    assert stars[2]["name"] == "生态宜居星"
    assert stars[2]["gaps"] == ["卫生厕所普及率 85% < 90%"]
    assert stars[0]["gaps"] == ["需先获得其他四颗星"]
    assert "卫生厕所普及率 85% &lt; 90%" in response.content.decode()


def test_a_computed_veto_is_shown_once_in_the_banner_with_its_scope_and_star(
    tree, criteria, personas, login
):
    put_reports(tree.village_a2, criteria, [1, 2, 3], **{"VT-02": Decimal(1)})
    recompute.ratings_recompute(period=MARCH, unit_ids=[tree.village_a2.pk])
    response = login(personas.county_leader).get(scorecard_url(tree.village_a2))
    card = response.context["card"]
    veto = "一票否决（全部星）：平安法治星 重大安全生产事故或群体性事件 3件 > 0件（1-3月）"
    assert card["veto_gaps"] == [veto]
    assert all(star["is_vetoed"] and star["gaps"] == [] for star in card["stars"])
    assert response.content.decode().count("重大安全生产事故或群体性事件 3件") == 1


def test_a_veto_is_shown_once_in_a_banner_not_under_every_star(scene, personas, login):
    response = login(personas.county_leader).get(scorecard_url(scene.village_b1))
    html = response.content.decode()
    assert "一票否决（否决全部）" in text_of(response)
    assert html.count("发生重大安全事故 1 起") == 1
    assert all(star["is_vetoed"] for star in response.context["card"]["stars"])


def test_the_scorecard_links_to_the_months_data_entry_and_the_township_summary(
    scene, personas, login
):
    html = login(personas.staff_a).get(scorecard_url(scene.village_a2)).content.decode()
    entry = reverse("branches:report_edit", args=[scene.village_a2.code, "2026-03"])
    assert f'href="{entry}"' in html
    assert f'href="{summary_url(scene.township_a)}"' in html
    assert 'src="/static/vendor/echarts/echarts.min.js"' in html
    history = reverse("branches:scorecard_history", args=[scene.village_a2.code])
    assert f'data-url="{history}?year=2026"' in html


def test_a_secretary_gets_no_link_to_a_summary_outside_their_jurisdiction(scene, personas, login):
    html = login(personas.secretary).get(scorecard_url(scene.village_a1)).content.decode()
    assert summary_url(scene.township_a) not in html


def test_a_branch_without_ratings_gets_an_empty_state_that_says_when_they_appear(
    tree, criteria, personas, login
):
    response = login(personas.staff_a).get(scorecard_url(tree.village_a2))
    assert response.status_code == 200
    assert "第一个月的月报提交后" in text_of(response)
    assert "echarts" not in response.content.decode()


def test_a_month_without_a_rating_says_so(scene, personas, login):
    response = login(personas.staff_a).get(scorecard_url(scene.village_a2, period="2026-01"))
    assert response.context["card"] is None
    assert "2026年1月没有星级评定" in text_of(response)


def test_the_annual_scorecard_shows_the_years_rating(scene, criteria, personas, login):
    rate(scene.village_a2, criteria, 4, period=YEAR_2026, kind=Rating.ANNUAL)
    response = login(personas.staff_a).get(scorecard_url(scene.village_a2, kind="ANNUAL"))
    assert response.context["card"]["level"] == 4
    assert "2026年度" in text_of(response)
    # A month's data entry belongs to a monthly rating only.
    assert "/reports/" not in response.content.decode()


def test_the_annual_year_picker_sends_a_year(scene, criteria, personas, login):
    rate(scene.village_a2, criteria, 4, period=YEAR_2026, kind=Rating.ANNUAL)
    url = scorecard_url(scene.village_a2, kind="ANNUAL", period="2026")
    assert login(personas.staff_a).get(url).context["card"]["level"] == 4


def test_no_annual_rating_yet_is_explained(scene, personas, login):
    response = login(personas.staff_a).get(scorecard_url(scene.village_a2, kind="ANNUAL"))
    assert "该支部还没有年度评定" in text_of(response)


@pytest.mark.parametrize("query", [{"period": "2026-13"}, {"period": "三月"}, {"kind": "WEEKLY"}])
def test_a_malformed_period_or_kind_is_not_found(query, scene, personas, login):
    response = login(personas.staff_a).get(scorecard_url(scene.village_a2, **query))
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ({"period": "0001-01"}, "0001-01"),
        ({"period": "9999-12"}, "9999-12"),
        ({"period": "1999-12"}, "1999-12"),
        ({"kind": "ANNUAL", "period": "0001"}, "0001-01"),
        ({"kind": "ANNUAL", "period": "9999"}, "9999-01"),
    ],
)
@pytest.mark.parametrize("page", ["scorecard", "summary"])
def test_a_period_outside_the_years_kept_is_a_404_with_the_reason_not_a_server_error(
    page, query, shown, scene, personas, login
):
    unit = scene.village_a2 if page == "scorecard" else scene.county
    url = scorecard_url(unit, **query) if page == "scorecard" else summary_url(unit, **query)
    response = login(personas.county_leader).get(url)
    assert response.status_code == 404
    text = text_of(response)
    assert f"月份的年份应在 2000 至 2100 年之间，收到的是“{shown}”。" in text
    assert 'id="period-picker"' in response.content.decode()  # a way to pick another


@pytest.mark.parametrize("period", ["0001-01", "9999-12", "2026-13"])
def test_the_summary_json_refuses_a_bad_period_with_a_400_and_the_reason(
    period, scene, personas, login
):
    url = reverse("branches:summary_data", args=[scene.township_a.code])
    response = login(personas.staff_a).get(url, {"period": period})
    assert response.status_code == 400
    assert f"收到的是“{period}”" in response.json()["detail"]


@pytest.mark.parametrize("year", ["0", "10000", "1999", "2101", "abc", "-1"])
def test_the_history_json_refuses_a_year_outside_the_years_kept_with_a_400(
    year, scene, personas, login
):
    url = reverse("branches:scorecard_history", args=[scene.village_a2.code])
    response = login(personas.staff_a).get(url, {"year": year})
    assert response.status_code == 400
    assert response.json()["detail"] == (
        f"年度应为 2000 至 2100 之间的四位数字，例如 2026，收到的是“{year}”。"
    )


@pytest.mark.parametrize(
    ("query", "earlier"),
    [({"period": "2000-01"}, "1999-12"), ({"kind": "ANNUAL", "period": "2000"}, "1999")],
)
def test_the_first_period_kept_links_to_no_earlier_one(query, earlier, scene, personas, login):
    response = login(personas.staff_a).get(scorecard_url(scene.village_a2, **query))
    assert response.status_code == 200
    assert response.context["nav"]["previous"] is None
    assert f"period={earlier}" not in response.content.decode()


def test_only_rated_branches_have_a_scorecard(scene, personas, login):
    client = login(personas.admin)
    assert client.get(scorecard_url(scene.township_a)).status_code == 404
    assert client.get(scorecard_url(scene.compound_a1)).status_code == 404


def test_the_history_json_gives_the_level_and_stars_held_month_by_month(
    scene, criteria, personas, login
):
    rate(scene.village_a2, criteria, 2, period=YEAR_2026, kind=Rating.ANNUAL)
    url = reverse("branches:scorecard_history", args=[scene.village_a2.code])
    data = login(personas.staff_a).get(url, {"year": 2026}).json()
    assert data["year"] == 2026
    assert data["months"][0] == "1月"
    assert data["levels"] == [None, 1, 3, *[None] * 9]
    assert [star["name"] for star in data["stars"]] == [
        "支部过硬星",
        "产业兴旺星",
        "生态宜居星",
        "平安法治星",
        "文明幸福星",
    ]
    assert [star["held"][2] for star in data["stars"]] == [False, True, True, True, False]
    assert [star["held"][1] for star in data["stars"]] == [False, True, False, False, False]
    assert data["annual"] == 2


def test_the_history_of_a_year_without_ratings_is_empty(scene, personas, login):
    url = reverse("branches:scorecard_history", args=[scene.village_a2.code])
    data = login(personas.staff_a).get(url, {"year": 2025}).json()
    assert data["levels"] == [None] * 12
    assert data["annual"] is None


# The summary.


def test_the_summary_counts_branches_by_level_and_by_star_per_area_type(scene, personas, login):
    response = login(personas.county_leader).get(summary_url(scene.county))
    assert response.status_code == 200
    rows = table_rows(response, "level-table")
    assert rows[0] == ["区域类型", "0星", "1星", "2星", "3星", "4星", "5星", "合计"]
    assert rows[1] == ["农村", "1", "0", "0", "1", "0", "0", "2"]
    assert rows[2] == ["城市社区", "0", "0", "0", "0", "0", "1", "1"]
    assert rows[3] == ["合计", "1", "0", "0", "1", "0", "1", "3"]
    stars = table_rows(response, "star-table")
    assert ["1. 支部过硬星", "1", "0", "100.0%"] in stars
    assert ["2. 共建共享星", "1", "0", "100.0%"] in stars
    assert ["2. 产业兴旺星", "1", "1", "50.0%"] in stars
    assert ["5. 文明幸福星", "0", "2", "0.0%"] in stars


def test_the_summary_json_has_the_same_figures_as_the_table(scene, personas, login):
    client = login(personas.county_leader)
    page = client.get(summary_url(scene.county))
    url = reverse("branches:summary_data", args=[scene.county.code])
    data = client.get(url, {"period": "2026-03"}).json()
    assert data["period"] == "2026-03"
    assert data["level_labels"] == ["0星", "1星", "2星", "3星", "4星", "5星"]
    # The same figures, times as JSON writes them.
    assert data["figures"] == json.loads(json.dumps(page.context["figures"], cls=DjangoJSONEncoder))
    rural = next(a for a in data["figures"]["areas"] if a["area_type"] == RURAL)
    assert rural["levels"] == [1, 0, 0, 1, 0, 0]
    assert [s["held"] for s in rural["stars"]] == [0, 1, 1, 1, 0]
    assert [s["name"] for s in rural["stars"]][1] == "产业兴旺星"
    assert data["figures"]["vetoed"] == 1


def test_the_summary_counts_only_the_units_subtree(scene, personas, login):
    response = login(personas.staff_a).get(summary_url(scene.township_a))
    assert response.context["figures"]["total"] == 2
    assert sorted(listed_codes(response)) == [scene.village_a1.code, scene.village_a2.code]


def test_the_branch_list_filters_branches_missing_a_star(scene, personas, login):
    client = login(personas.county_leader)
    missing_first = client.get(summary_url(scene.county, missing=1))
    assert sorted(listed_codes(missing_first)) == [scene.village_a2.code, scene.village_b1.code]
    missing_third = client.get(summary_url(scene.county, missing=3))
    assert listed_codes(missing_third) == [scene.village_b1.code]
    rural_missing_second = client.get(summary_url(scene.county, missing=2, area=RURAL))
    assert listed_codes(rural_missing_second) == [scene.village_b1.code]


def test_the_star_table_links_each_missing_count_to_the_filtered_list(scene, personas, login):
    html = login(personas.county_leader).get(summary_url(scene.county)).content.decode()
    assert "?missing=1&amp;area=RURAL#branches" in html


def test_the_branch_list_filters_by_area_type(scene, personas, login):
    response = login(personas.county_leader).get(summary_url(scene.county, area=URBAN))
    assert listed_codes(response) == [scene.village_a1.code]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-level", ["village_a1", "village_a2", "village_b1"]),
        ("level", ["village_b1", "village_a2", "village_a1"]),
        # 建设路社区, 西流湖村, 须水村: the database's collation (code points on SQLite).
        ("name", ["village_a1", "village_a2", "village_b1"]),
        ("-name", ["village_b1", "village_a2", "village_a1"]),
    ],
)
def test_the_branch_list_sorts_by_level_and_name(sort, expected, scene, personas, login):
    response = login(personas.county_leader).get(summary_url(scene.county, sort=sort))
    assert listed_codes(response) == [getattr(scene, name).code for name in expected]


def test_each_branch_drills_down_to_its_scorecard_of_the_same_period(scene, personas, login):
    response = login(personas.county_leader).get(summary_url(scene.county, period="2026-03"))
    html = response.content.decode()
    for village in (scene.village_a1, scene.village_a2, scene.village_b1):
        assert f'href="{scorecard_url(village)}?period=2026-03"' in html
    rows = table_rows(response, "branch-table")
    assert rows[1][:4] == ["建设路社区 410102001001", "林山寨街道", "城市社区", "★★★★★ 5星"]


def test_a_county_summary_lists_its_townships_with_their_distribution(scene, personas, login):
    response = login(personas.county_leader).get(summary_url(scene.county))
    rows = table_rows(response, "children-table")
    # Levels 0–5, average level, share at 3★ or more, at 5★, vetoed, rank by average.
    assert rows[1][:8] == ["林山寨街道 乡镇(街道)", "2", "0", "0", "0", "1", "0", "1"]
    assert rows[1][8:] == ["4.0", "100.0%", "50.0%", "0", "1"]
    assert rows[2][:8] == ["须水街道 乡镇(街道)", "1", "1", "0", "0", "0", "0", "0"]
    assert rows[2][8:] == ["0.0", "0.0%", "0.0%", "1", "2"]
    html = response.content.decode()
    assert f'href="{summary_url(scene.township_a)}?period=2026-03&amp;kind=MONTHLY"' in html


def test_a_city_summary_lists_its_counties(scene, personas, login):
    response = login(personas.province_leader).get(summary_url(scene.city))
    rows = table_rows(response, "children-table")
    assert [row[:3] for row in rows[1:]] == [
        ["中原区 县(区)", "3", "1"],
        ["二七区 县(区)", "1", "0"],
    ]


def test_a_township_summary_has_no_child_table(scene, personas, login):
    response = login(personas.staff_a).get(summary_url(scene.township_a))
    assert response.context["children"] == []
    assert 'id="children-table"' not in response.content.decode()


def test_the_branch_list_shows_fifty_branches_a_page(tree, criteria, personas, login):
    for village in [OrgUnitFactory(parent=tree.township_b, area_type=RURAL) for _ in range(55)]:
        rate(village, criteria, 2)
    client = login(personas.county_leader)
    first = client.get(summary_url(tree.county))
    assert len(first.context["rows"]) == 50
    assert first.context["page"].paginator.count == 55
    second = client.get(summary_url(tree.county, page=2, sort="name"))
    assert len(second.context["rows"]) == 5
    # The link back keeps the sort order.
    assert 'href="?page=1&amp;sort=name#branches"' in second.content.decode()


def test_the_summary_defaults_to_the_latest_rated_month(scene, personas, login):
    response = login(personas.staff_a).get(summary_url(scene.township_a))
    assert response.context["nav"]["value"] == "2026-03"
    february = login(personas.staff_a).get(summary_url(scene.township_a, period="2026-02"))
    assert february.context["figures"]["total"] == 1


def test_the_pages_default_to_the_last_closed_month_not_a_half_rated_current_one(
    scene, criteria, personas, login
):
    """April is the current month (today is 3 April): one early branch is not the county."""
    rate(scene.village_a2, criteria, 5, period=date(2026, 4, 1))
    client = login(personas.county_leader)
    summary = client.get(summary_url(scene.county))
    assert summary.context["nav"]["value"] == "2026-03"
    assert summary.context["figures"]["total"] == 3
    data = client.get(reverse("branches:summary_data", args=[scene.county.code])).json()
    assert data["period"] == "2026-03"
    scorecard = client.get(scorecard_url(scene.village_a2))
    assert scorecard.context["nav"]["value"] == "2026-03"
    # April stays one click away.
    assert summary.context["nav"]["next"] == "2026-04"


def test_the_current_month_is_the_default_while_nothing_older_is_rated(
    tree, criteria, personas, login
):
    rate(tree.village_a2, criteria, 2, period=date(2026, 4, 1))
    client = login(personas.staff_a)
    assert client.get(summary_url(tree.township_a)).context["nav"]["value"] == "2026-04"
    assert client.get(scorecard_url(tree.village_a2)).context["nav"]["value"] == "2026-04"


def test_a_summary_without_ratings_gets_an_empty_state(tree, criteria, personas, login):
    response = login(personas.staff_a).get(summary_url(tree.township_a))
    assert response.status_code == 200
    assert "月报提交后，系统会自动计算星级" in text_of(response)
    data = login(personas.staff_a).get(
        reverse("branches:summary_data", args=[tree.township_a.code])
    )
    assert data.json() == {"period": None, "kind": "MONTHLY", "figures": None}


def test_the_annual_summary_reads_the_annual_ratings(scene, criteria, personas, login):
    rate(scene.village_a2, criteria, 4, period=YEAR_2026, kind=Rating.ANNUAL)
    response = login(personas.staff_a).get(summary_url(scene.township_a, kind="ANNUAL"))
    assert response.context["figures"]["levels"] == [0, 0, 0, 0, 1, 0]
    assert listed_codes(response) == [scene.village_a2.code]


def test_only_units_above_the_branches_have_a_summary(scene, personas, login):
    client = login(personas.admin)
    assert client.get(summary_url(scene.village_a1)).status_code == 404
    assert client.get(summary_url(scene.province)).status_code == 200


# Links from the unit pages.


def test_the_unit_page_links_a_branch_to_its_scorecard_and_a_township_to_its_summary(
    scene, personas, login
):
    client = login(personas.staff_a)
    branch = client.get(reverse("branches:unit_detail", args=[scene.village_a1.code]))
    assert f'href="{scorecard_url(scene.village_a1)}"' in branch.content.decode()
    township = client.get(reverse("branches:unit_detail", args=[scene.township_a.code]))
    assert f'href="{summary_url(scene.township_a)}"' in township.content.decode()
    compound = client.get(reverse("branches:unit_detail", args=[scene.compound_a1.code]))
    assert "/scorecard/" not in compound.content.decode()
    assert "/summary/" not in compound.content.decode()


# Fixed query counts.


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_pages_take_a_fixed_number_of_queries_as_branches_grow(
    scene, criteria, personas, login
):
    client = login(personas.county_leader)
    urls = [
        summary_url(scene.county),
        summary_url(scene.township_b, missing=1),
        reverse("branches:summary_data", args=[scene.county.code]),
        scorecard_url(scene.village_b1),
        reverse("branches:scorecard_history", args=[scene.village_b1.code]),
    ]
    before = [_queries(client, url) for url in urls]
    for index in range(10):
        village = OrgUnitFactory(parent=scene.township_b, area_type=[RURAL, URBAN][index % 2])
        rate(village, criteria, index % 6)
    after = [_queries(client, url) for url in urls]
    assert after == before
    assert BranchRating.objects.filter(period=MARCH).count() == 14


# Permissions: persona × page → status.

PAGES = [
    "scorecard_a1",
    "scorecard_a2",
    "history_a1",
    "summary_township_a",
    "summary_data_township_a",
    "summary_county",
    "summary_city",
    "scorecard_other_county",
]
# 建设路社区 (A1) is the secretary's branch; the grid worker's compound lies below it.
EXPECTED = {
    "admin": [200, 200, 200, 200, 200, 200, 200, 200],
    "province_leader": [200, 200, 200, 200, 200, 200, 200, 200],
    "county_leader": [200, 200, 200, 200, 200, 200, 404, 404],
    "staff_a": [200, 200, 200, 200, 200, 404, 404, 404],
    "staff_b": [404, 404, 404, 404, 404, 404, 404, 404],
    "secretary": [200, 404, 200, 404, 404, 404, 404, 404],
    "auditor": [200, 200, 200, 200, 200, 200, 404, 404],
    "grid_worker": [404, 404, 404, 404, 404, 404, 404, 404],
}


def request_page(client, tree, page):
    urls = {
        "scorecard_a1": scorecard_url(tree.village_a1),
        "scorecard_a2": scorecard_url(tree.village_a2),
        "history_a1": reverse("branches:scorecard_history", args=[tree.village_a1.code]),
        "summary_township_a": summary_url(tree.township_a),
        "summary_data_township_a": reverse("branches:summary_data", args=[tree.township_a.code]),
        "summary_county": summary_url(tree.county),
        "summary_city": summary_url(tree.city),
        "scorecard_other_county": scorecard_url(tree.village_other),
    }
    return client.get(urls[page])


@pytest.mark.parametrize(
    ("persona", "page", "status"),
    [
        (persona, page, status)
        for persona in PERSONA_NAMES
        for page, status in zip(PAGES, EXPECTED[persona], strict=True)
    ],
)
def test_permission_matrix(persona, page, status, personas, scene, login):
    response = request_page(login(getattr(personas, persona)), scene, page)
    assert response.status_code == status


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_users_are_sent_to_the_login_page(page, scene, client):
    response = request_page(client, scene, page)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")

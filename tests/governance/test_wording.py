"""Wording and page furniture: the API docs link, the skip link, one month format in prose, the
urban set's wording, and the print header of the scorecard, the summary and the month report."""

import re
from datetime import date
from importlib import import_module

import pytest
from django.apps import apps
from django.template import Context, Template
from django.urls import reverse

from branches.catalogue import default_catalogue
from branches.models import Criterion
from branches.periods import month_label
from branches.services.recompute import ratings_recompute
from tests.branches.test_report_pages import submitted
from tests.conftest import PERSONA_NAMES

MARCH = date(2026, 3, 1)
DOCS = reverse("api-docs")

pytestmark = pytest.mark.usefixtures("april_third")


@pytest.mark.parametrize("name", PERSONA_NAMES)
def test_only_administrators_see_the_api_docs_link(name, personas, login):
    page = login(getattr(personas, name)).get("/").content.decode()
    assert (f'href="{DOCS}"' in page) == (name == "admin")


def test_the_api_docs_stay_reachable_for_a_logged_in_user_without_the_link(personas, login):
    assert login(personas.staff_a).get(DOCS).status_code == 200


@pytest.mark.parametrize("name", PERSONA_NAMES)
def test_the_skip_link_is_the_first_link_and_targets_the_main_content(name, personas, login):
    page = login(getattr(personas, name)).get("/").content.decode()
    body = page[page.index("<body") :]
    first = re.search(r"<(a|button|input|select|textarea)\b[^>]*>", body)
    assert 'href="#main"' in first.group(0), first.group(0)
    assert "跳到主要内容" in body[first.end() : first.end() + 40]
    assert '<main id="main" tabindex="-1"' in page


def test_a_month_reads_the_same_in_prose_everywhere():
    assert month_label(date(2026, 10, 1)) == "2026年10月"
    rendered = Template(
        "{% load periods %}{{ d|month_label }} {{ s|month_label }} {{ x|month_label }}"
    )
    text = rendered.render(Context({"d": date(2026, 3, 1), "s": "2026-10", "x": "上月"}))
    assert text == "2026年3月 2026年10月 上月"


def test_the_sheet_upload_page_names_its_month_in_prose(tree, criteria, personas, login):
    url = reverse("branches:report_sheet_upload", args=[tree.township_a.code, "2026-03"])
    page = login(personas.staff_a).get(url).content.decode()
    assert "林山寨街道 · 2026年3月表格填报" in page
    assert "2026-03 表格填报" not in page


def test_notifications_name_the_month_in_prose(tree, criteria, personas, login):
    from branches.services import workflow

    report = submitted(tree.village_a2, personas.staff_a, MARCH)
    workflow.report_return(
        report=report, user=personas.staff_a2, reason="缺签到表", expected_version=report.version
    )
    page = login(personas.staff_a).get(reverse("notification_list")).content.decode()
    assert "西流湖村 2026年3月的月度报表被审核员退回" in page


def test_the_urban_set_asks_for_community_reserve_cadres_the_rural_for_village_ones():
    titles = {
        area_type: {row["code"]: row["title"] for row in default_catalogue(area_type).criteria}
        for area_type in ("RURAL", "URBAN")
    }
    assert titles["RURAL"]["BR-03"] == "村级后备干部人数"
    assert titles["URBAN"]["BR-03"] == "社区后备干部人数"


def test_the_migration_renames_the_urban_default_title_and_leaves_edited_ones(criteria):
    migration = import_module("branches.migrations.0016_urban_reserve_cadres_title")
    urban = Criterion.objects.filter(code="BR-03", criteria_set__area_type="URBAN")
    rural = Criterion.objects.filter(code="BR-03", criteria_set__area_type="RURAL")
    urban.update(title="村级后备干部人数")  # as a database loaded before this change holds it

    migration.urban_title(apps, None)

    assert list(urban.values_list("title", flat=True)) == ["社区后备干部人数"]
    assert list(rural.values_list("title", flat=True)) == ["村级后备干部人数"]
    urban.update(title="社区后备干部（含储备）人数")
    migration.urban_title(apps, None)
    assert urban.get().title == "社区后备干部（含储备）人数"


@pytest.fixture
def rated(tree, criteria, personas):
    submitted(tree.village_a2, personas.staff_a, MARCH)
    ratings_recompute(period=MARCH)
    personas.county_leader.last_name, personas.county_leader.first_name = "赵", "明"
    personas.county_leader.save()
    return personas.county_leader


@pytest.mark.parametrize(
    ("view", "code", "query", "document", "unit"),
    [
        ("branches:scorecard", "410102001002", "?period=2026-03", "星级评定", "西流湖村"),
        ("branches:summary", "410102001", "?period=2026-03", "星级汇总", "林山寨街道"),
        ("branches:report_edit", "410102001002", "2026-03", "评星月度填报", "西流湖村"),
    ],
)
def test_printed_pages_carry_a_header_with_unit_period_printer_and_time(
    view, code, query, document, unit, rated, login
):
    if view == "branches:report_edit":
        url = reverse(view, args=[code, query])
    else:
        url = reverse(view, args=[code]) + query
    page = login(rated).get(url).content.decode()
    header = re.search(r'<div class="print-header d-none d-print-block">(.*?)\n</div>', page, re.S)
    assert header, "no print header"
    text = re.sub(r"<[^>]+>|\s+", " ", header.group(1))
    assert f"五星支部门户 · {document}" in text
    assert f"单位：{unit}（{code}）" in text
    assert "期间：2026年3月" in text
    assert "打印人：赵明" in text
    assert "打印时间：2026年4月3日 10:00" in text

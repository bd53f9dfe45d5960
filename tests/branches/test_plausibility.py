"""Plausibility of a month's values: an upper bound refuses, a month-on-month jump warns.

The same checks on the data-entry page (a second, confirmed save), in the month sheet
(bound errors refuse the file; warnings are saved and listed) and in the API (400 for the
bound; 200 with the warnings), and the warning stays visible to the reviewer.
"""

from datetime import date
from decimal import Decimal
from importlib import import_module

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse

from branches.admin import CriterionForm
from branches.models import Criterion, MonthlyReport, ReportEvent, ReportValue
from branches.services import criteria as criteria_service
from branches.services import workflow
from branches.services.workflow import ValueInput
from tests.branches.test_report_pages import edit_url, evidence_files, form_data, review_url
from tests.branches.test_sheets import cell, download, upload

MARCH, FEBRUARY = date(2026, 3, 1), date(2026, 2, 1)
Status = MonthlyReport.Status

pytestmark = pytest.mark.usefixtures("april_third", "criteria")


def culture(unit=None) -> Criterion:
    """文体活动场次 of the urban set: ≤ 60 a month, a jump factor of 5 (the defaults)."""
    return Criterion.objects.get(criteria_set__area_type="URBAN", code="HA-04")


def save(unit, user, period, **values):
    report = workflow.report_get_or_create(unit=unit, period=period)
    workflow.report_save_values(
        report=report,
        user=user,
        values={code: ValueInput(Decimal(v)) for code, v in values.items()},
        expected_version=None,
    )
    return report


@pytest.fixture
def february_culture(tree, personas):
    """社区 A1 held 5 文体活动 in February: March's value is compared with it."""
    return save(tree.village_a1, personas.staff_a, FEBRUARY, **{"HA-04": 5})


# The rules, and the shipped defaults.


def test_the_default_catalogue_bounds_culture_at_60_a_month_with_a_jump_factor_of_5():
    criterion = culture()
    assert (criterion.max_value, criterion.jump_factor) == (Decimal(60), Decimal(5))
    incidents = Criterion.objects.get(criteria_set__area_type="RURAL", code="SA-04")
    assert incidents.max_value == 50 and incidents.jump_factor is None
    yes_no = Criterion.objects.get(criteria_set__area_type="RURAL", code="BR-01")
    assert (yes_no.max_value, yes_no.jump_factor) == (None, None)


def test_9999_is_refused_with_the_bound_named():
    with pytest.raises(ValidationError) as error:
        workflow.parse_value(culture(), "9999")
    message = error.value.messages[0]
    assert "文体活动场次" in message and "每月最多 60 场" in message and "9999" in message
    assert workflow.parse_value(culture(), "60") == 60


@pytest.mark.parametrize("raw", ["95,5", "95，5", "1,5", "12,34"])
def test_a_decimal_comma_is_explained_as_the_decimal_mark_not_as_the_range(raw):
    satisfaction = Criterion.objects.get(criteria_set__area_type="URBAN", code="HA-03")
    with pytest.raises(ValidationError) as error:
        workflow.parse_value(satisfaction, raw)
    message = error.value.messages[0]
    assert "小数点请用英文句点“.”" in message and "95.5" in message
    assert "0 到 100" not in message


def test_commas_that_group_thousands_still_read_as_a_number():
    income = Criterion.objects.get(criteria_set__area_type="RURAL", code="IN-01")
    assert workflow.parse_value(income, "1,250.5") == Decimal("1250.5")


@pytest.mark.parametrize(
    ("value", "previous", "expected"),
    [
        ("40", "5", "是上月 5 场的 8 倍"),
        ("25", "5", None),  # exactly the factor is not a jump
        ("26", "5", "是上月 5 场的 5.2 倍"),
        ("2", "40", "比上月 40 场少了 95%"),
        ("40", "0", None),  # a ratio from 0 says nothing
        ("0", "40", None),  # a month without activities is not a slip
        ("40", None, None),
    ],
)
def test_a_jump_warns_in_both_directions_between_positive_months(value, previous, expected):
    warning = criteria_service.soft_warning(
        culture(), Decimal(value), None if previous is None else Decimal(previous)
    )
    if expected is None:
        assert warning is None
    else:
        assert expected in warning and "变化超过 5 倍" in warning


def test_a_criterion_without_a_factor_never_warns_of_a_jump():
    satisfaction = Criterion.objects.get(criteria_set__area_type="URBAN", code="HA-03")
    assert criteria_service.soft_warning(satisfaction, Decimal(90), Decimal(1)) is None


@pytest.mark.parametrize(
    ("value", "warns"),
    [("0.95", True), ("0.5", True), ("1", False), ("0", False), ("95", False), ("100", False)],
)
def test_a_percentage_written_as_a_fraction_warns(value, warns):
    satisfaction = Criterion.objects.get(criteria_set__area_type="URBAN", code="HA-03")
    warning = criteria_service.soft_warning(satisfaction, Decimal(value), Decimal(90))
    if warns:
        assert f"收到的是 {value}：是否填成了小数" in warning and "95 表示 95%" in warning
    else:
        assert warning is None


# The service: one place for every entry path.


def test_without_confirmation_the_value_is_saved_with_its_warning_and_the_event_says_so(
    tree, personas, february_culture
):
    report = save(tree.village_a1, personas.staff_a, MARCH, **{"HA-04": 40})
    value = report.values.get(criterion__code="HA-04")
    assert value.value_number == 40 and "8 倍" in value.warning
    saved = report.events.filter(action=ReportEvent.Action.SAVED).get()
    assert "环比提示，请审核时核对" in saved.reason and "文体活动场次" in saved.reason


def test_an_unconfirmed_warning_refuses_the_save_and_writes_nothing(
    tree, personas, february_culture
):
    report = workflow.report_get_or_create(unit=tree.village_a1, period=MARCH)
    before = (report.version, ReportValue.objects.count(), ReportEvent.objects.count())
    with pytest.raises(workflow.UnconfirmedWarnings) as error:
        workflow.report_save_values(
            report=report,
            user=personas.staff_a,
            values={"HA-04": ValueInput(Decimal(40)), "SH-03": ValueInput(Decimal(6))},
            expected_version=report.version,
            confirmed_warnings={"HA-04": Decimal(35)},  # confirmed a different value
        )
    assert list(error.value.warnings) == ["HA-04"]
    report.refresh_from_db()
    assert (report.version, ReportValue.objects.count(), ReportEvent.objects.count()) == before


def test_a_confirmed_warning_is_saved_and_the_event_names_who_confirmed(
    tree, personas, february_culture
):
    report = workflow.report_get_or_create(unit=tree.village_a1, period=MARCH)
    workflow.report_save_values(
        report=report,
        user=personas.staff_a,
        values={"HA-04": ValueInput(Decimal(40))},
        expected_version=report.version,
        confirmed_warnings={"HA-04": Decimal("40.0")},
    )
    assert "8 倍" in report.values.get(criterion__code="HA-04").warning
    saved = report.events.filter(action=ReportEvent.Action.SAVED).get()
    assert saved.actor == personas.staff_a and "填报人已确认环比提示" in saved.reason


def test_correcting_the_value_clears_its_warning_and_a_note_alone_keeps_it(
    tree, personas, february_culture
):
    report = save(tree.village_a1, personas.staff_a, MARCH, **{"HA-04": 40})
    workflow.report_save_values(
        report=report,
        user=personas.staff_a,
        values={"HA-04": ValueInput(Decimal(40), "含社区文化节")},
        expected_version=None,
        confirmed_warnings={},
    )
    assert report.values.get(criterion__code="HA-04").warning
    save(tree.village_a1, personas.staff_a, MARCH, **{"HA-04": 6})
    assert report.values.get(criterion__code="HA-04").warning == ""


# The data-entry page.


def test_the_page_refuses_9999_beside_the_field_and_saves_nothing(tree, personas, login):
    client = login(personas.staff_a)
    blank = client.get(edit_url(tree.village_a1)).context["report"]
    response = client.post(edit_url(tree.village_a1), form_data(blank, **{"HA-04": "9999"}))
    assert response.status_code == 200
    assert response.context["form"].errors["value-HA-04"] == [
        "“文体活动场次”每月最多 60 场，收到的是 9999。请核对是否多输了数字或单位填错；"
        "确实超过上限的，请联系管理员调整该指标的每月上限。"
    ]
    assert not MonthlyReport.objects.filter(unit=tree.village_a1, period=MARCH).exists()


def test_the_page_asks_to_confirm_a_jump_then_saves_it_for_the_reviewer(
    tree, personas, login, february_culture
):
    client = login(personas.staff_a)
    blank = client.get(edit_url(tree.village_a1)).context["report"]
    data = form_data(blank, **{"HA-04": "40"}) | {"submit": ""}
    asked = client.post(edit_url(tree.village_a1), data | evidence_files(blank))
    assert asked.status_code == 200
    page = asked.content.decode()
    assert "本次未保存：1 项数值与上月相比变化较大" in page
    assert "是上月 5 场的 8 倍" in page
    assert 'name="confirm_warnings"' in page and 'name="warned-HA-04" value="40"' in page
    report = MonthlyReport.objects.get(unit=tree.village_a1, period=MARCH)
    assert report.status == Status.DRAFT and not report.values.exists()

    # Ticking the box without the hidden value (a stale page) asks again.
    again = client.post(edit_url(tree.village_a1), data | {"confirm_warnings": "on"})
    assert "本次未保存" in again.content.decode()

    confirmed = data | evidence_files(blank) | {"confirm_warnings": "on", "warned-HA-04": "40"}
    confirmed["version"] = report.version
    done = client.post(edit_url(tree.village_a1), confirmed, follow=True)
    assert "已提交，等待乡镇(街道)审核。" in done.content.decode()
    report.refresh_from_db()
    assert report.status == Status.SUBMITTED
    assert "8 倍" in report.values.get(criterion__code="HA-04").warning

    # The reviewer sees it on the report page and on the township's review page.
    reviewer = login(personas.staff_a2)
    report_page = reviewer.get(edit_url(tree.village_a1)).content.decode()
    assert "1 项数值与上月相比变化较大（保存时已提示填报人），审核时请核对" in report_page
    assert "是上月 5 场的 8 倍" in report_page
    review_page = reviewer.get(review_url(tree.township_a)).content.decode()
    assert "环比异常 1 项，请核对" in review_page
    assert "文体活动场次：本月 40 场，是上月 5 场的 8 倍" in review_page


def test_a_value_changed_after_the_warning_is_checked_again(
    tree, personas, login, february_culture
):
    client = login(personas.staff_a)
    blank = client.get(edit_url(tree.village_a1)).context["report"]
    data = form_data(blank, **{"HA-04": "50"}) | {"confirm_warnings": "on", "warned-HA-04": "40"}
    response = client.post(edit_url(tree.village_a1), data)
    assert "是上月 5 场的 10 倍" in response.content.decode()
    assert not ReportValue.objects.filter(report__period=MARCH).exists()


def test_a_plausible_value_saves_at_once(tree, personas, login, february_culture):
    client = login(personas.staff_a)
    blank = client.get(edit_url(tree.village_a1)).context["report"]
    response = client.post(edit_url(tree.village_a1), form_data(blank, **{"HA-04": "8"}))
    assert response.status_code == 302
    assert ReportValue.objects.get(report__period=MARCH, criterion__code="HA-04").warning == ""


# The month sheet.


def test_a_sheet_with_a_value_over_the_bound_is_refused_with_its_row_and_column(tree, personas):
    workbook = download(personas.staff_a, tree.township_a)
    target = cell(workbook["城市社区"], "HA-04", tree.village_a1.code)
    target.value = 9999
    result = upload(personas.staff_a, workbook, tree.township_a)
    assert not result.ok
    [error] = result.errors
    assert (error.sheet, error.row, error.column) == ("城市社区", target.row, "HA-04")
    assert error.branch == tree.village_a1.name
    assert "每月最多 60 场" in error.reason
    assert not ReportValue.objects.filter(report__period=MARCH).exists()


def test_a_sheet_jump_is_saved_listed_with_its_cell_and_flagged(tree, personas, february_culture):
    workbook = download(personas.staff_a, tree.township_a)
    target = cell(workbook["城市社区"], "HA-04", tree.village_a1.code)
    target.value = 40
    cell(workbook["城市社区"], "SH-03", tree.village_a1.code).value = 6
    result = upload(personas.staff_a, workbook, tree.township_a)
    assert result.ok and result.values == 2
    [warning] = result.warnings
    assert (warning.sheet, warning.row, warning.column) == ("城市社区", target.row, "HA-04")
    assert warning.branch == tree.village_a1.name
    assert "8 倍" in warning.reason
    saved = ReportValue.objects.get(report__period=MARCH, criterion__code="HA-04")
    assert saved.value_number == 40 and saved.warning == warning.reason


def test_the_upload_page_lists_the_warnings_after_saving(tree, personas, login, february_culture):
    from tests.branches.test_sheets import xlsx_upload

    workbook = download(personas.staff_a, tree.township_a)
    cell(workbook["城市社区"], "HA-04", tree.village_a1.code).value = 40
    url = reverse("branches:report_sheet_upload", args=[tree.township_a.code, "2026-03"])
    response = login(personas.staff_a).post(url, {"file": xlsx_upload(workbook)})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="sheet-warnings"' in page and "已标记给审核人核对" in page
    assert "是上月 5 场的 8 倍" in page
    assert f'<td class="text-nowrap">{tree.village_a1.name}</td>' in page  # the 支部 column


# The API.


def patch(client, report, values):
    return client.patch(
        reverse("report-detail", kwargs={"pk": report.pk}),
        {"version": report.version, "values": values},
        content_type="application/json",
    )


def test_the_api_refuses_9999_with_400_naming_the_field_and_the_bound(tree, personas, login):
    report = workflow.report_get_or_create(unit=tree.village_a1, period=MARCH)
    response = patch(login(personas.staff_a), report, {"HA-04": {"value": 9999}})
    assert response.status_code == 400
    [message] = response.json()["values"]["HA-04"]
    assert "每月最多 60 场" in message
    assert not report.values.exists()


def test_the_api_saves_a_jump_and_returns_its_warning(tree, personas, login, february_culture):
    report = workflow.report_get_or_create(unit=tree.village_a1, period=MARCH)
    response = patch(login(personas.staff_a), report, {"HA-04": {"value": 40}})
    assert response.status_code == 200
    body = response.json()
    [warning] = body["warnings"]
    assert warning["code"] == "HA-04" and "8 倍" in warning["message"]
    value = next(v for v in body["values"] if v["code"] == "HA-04")
    assert value["value"] == 40 and value["warning"] == warning["message"]


def test_the_criteria_api_tells_clients_the_bounds(personas, login, criteria):
    urban = next(s for s in criteria if s.area_type == "URBAN")
    url = reverse("criteria-set-detail", kwargs={"pk": urban.pk})
    body = login(personas.staff_a).get(url).json()
    rows = {c["code"]: c for c in body["criteria"]}
    assert (rows["HA-04"]["max_value"], rows["HA-04"]["jump_factor"]) == (60, 5)
    assert rows["HA-02"]["max_value"] is None


# The criteria admin.


def test_the_criteria_admin_shows_the_bound_and_the_factor(personas, login, criteria):
    urban = next(s for s in criteria if s.area_type == "URBAN")
    url = reverse("admin:branches_criteriaset_change", args=[urban.pk])
    page = login(personas.admin).get(url).content.decode()
    assert "每月上限" in page and "环比提示倍数" in page
    assert 'name="criteria-0-max_value"' in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"jump_factor": "0.5"}, "环比提示倍数应大于1"),
        ({"max_value": "0"}, "每月上限应大于0"),
        ({"kind": "BOOLEAN", "comparator": "IS_YES", "threshold": ""}, "是/否指标和系统指标请留空"),
    ],
)
def test_the_criteria_admin_explains_a_bad_bound_or_factor(changes, message):
    criterion = culture()
    fields = CriterionForm.Meta.fields
    data = {name: getattr(criterion, name) for name in fields} | changes
    data = {k: "" if v is None else v for k, v in data.items()}
    form = CriterionForm(data, instance=criterion)
    assert not form.is_valid()
    assert any(message in error for error in form.non_field_errors())


def test_the_migration_gives_existing_default_sets_the_shipped_bounds():
    Criterion.objects.update(max_value=None, jump_factor=None)
    migration = import_module("branches.migrations.0015_criterion_plausibility")
    migration.defaults_fill(apps, None)
    assert (culture().max_value, culture().jump_factor) == (60, 5)
    assert not Criterion.objects.filter(kind="BOOLEAN", max_value__isnull=False).exists()

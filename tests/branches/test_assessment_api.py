"""The assessment API: criteria sets, monthly reports (read, write, workflow) and ratings."""

from datetime import date
from decimal import ROUND_CEILING, Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from drf_spectacular.validation import validate_schema

from branches.models import (
    BranchRating,
    CriteriaSet,
    Criterion,
    MonthlyReport,
    Rating,
    StarAssessment,
)
from branches.services import workflow
from branches.services.recompute import ratings_recompute
from tests.branches.factories import OrgUnitFactory, passing_value
from tests.conftest import PERSONA_NAMES

MARCH = date(2026, 3, 1)
Status = MonthlyReport.Status

REPORTS_URL = reverse("report-list")
RATINGS_URL = reverse("rating-list")
CRITERIA_SETS_URL = reverse("criteria-set-list")


def report_url(report, action=None):
    if action is None:
        return reverse("report-detail", kwargs={"pk": report.pk})
    return reverse(f"report-{action}", kwargs={"pk": report.pk})


def rating_url(rating):
    return reverse("rating-detail", kwargs={"pk": rating.pk})


def unit_codes(response):
    return [row["unit_code"] for row in response.json()["results"]]


def typed_passing_value(criterion):
    """A passing value as a person would type it: whole numbers for integer criteria."""
    value = passing_value(criterion)
    if isinstance(value, bool):
        return value
    if criterion.kind == Criterion.Kind.INTEGER:
        value = value.to_integral_value(rounding=ROUND_CEILING)
    return str(value)


def passing_values(report):
    """Every manual criterion of the report's set with a value that meets it, as JSON."""
    return {
        c.code: {"value": typed_passing_value(c)}
        for c in workflow.manual_criteria(report.criteria_set)
    }


def add_evidence(report, user):
    for c in workflow.manual_criteria(report.criteria_set):
        if c.evidence_required:
            workflow.evidence_add(
                report=report,
                user=user,
                criterion_code=c.code,
                upload=SimpleUploadedFile("证明.pdf", b"%PDF-1.4 evidence"),
            )


def fill(report, user):
    """Fill a report with passing values and evidence through the services."""
    values = {
        c.code: workflow.ValueInput(passing_value(c))
        for c in workflow.manual_criteria(report.criteria_set)
    }
    workflow.report_save_values(
        report=report, user=user, values=values, expected_version=report.version
    )
    add_evidence(report, user)
    report.refresh_from_db()
    return report


def advance(report, user, to, *, checker=None):
    """Take a report through the workflow to SUBMITTED, or to APPROVED by another person
    (maker–checker)."""
    fill(report, user)
    workflow.report_submit(report=report, user=user, expected_version=report.version)
    if to == Status.APPROVED:
        assert checker is not None and checker != user, "the submitter cannot approve"
        workflow.report_approve(report=report, user=checker, expected_version=report.version)
    return report


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


pytestmark = pytest.mark.usefixtures("april_third")


@pytest.fixture
def reports(tree, criteria):
    """March drafts for 社区A1 and 村A2 (township A) and 村B1 (township B)."""
    return {
        name: workflow.report_get_or_create(unit=getattr(tree, name), period=MARCH)
        for name in ("village_a1", "village_a2", "village_b1")
    }


@pytest.fixture
def report_a1(reports):
    return reports["village_a1"]


@pytest.fixture
def staff_a_client(personas, login):
    return login(personas.staff_a)


class TestCriteriaSets:
    def test_it_lists_the_sets_without_their_criteria(self, criteria, staff_a_client):
        response = staff_a_client.get(CRITERIA_SETS_URL)

        assert response.status_code == 200
        rows = response.json()["results"]
        assert {(row["year"], row["area_type"]) for row in rows} == {
            (2026, "RURAL"),
            (2026, "URBAN"),
        }
        assert "criteria" not in rows[0]

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"area_type": "URBAN"}, [("URBAN", 1)]),
            ({"year": 2025}, []),
            ({"year": 2026, "is_active": "false"}, [("RURAL", 1)]),
            ({"is_active": "true"}, [("RURAL", 2), ("URBAN", 1)]),
        ],
    )
    def test_it_filters_by_year_area_type_and_active(
        self, criteria, staff_a_client, params, expected
    ):
        rural = CriteriaSet.objects.get(area_type="RURAL")
        CriteriaSet.objects.filter(pk=rural.pk).update(is_active=False)
        CriteriaSet.objects.create(
            year=2026, area_type="RURAL", version=2, name="第二版", star_names=rural.star_names
        )

        rows = staff_a_client.get(CRITERIA_SETS_URL, params).json()["results"]

        assert [(r["area_type"], r["version"]) for r in rows] == expected

    @pytest.mark.parametrize("year", ["0", "1999", "2101", "99999999999999999999999"])
    def test_a_year_outside_the_years_kept_is_refused(self, criteria, staff_a_client, year):
        response = staff_a_client.get(CRITERIA_SETS_URL, {"year": year})

        assert response.status_code == 400
        assert "year" in response.json()

    def test_a_set_carries_its_criteria_with_rules_and_star_names(self, criteria, staff_a_client):
        urban = CriteriaSet.objects.get(area_type="URBAN")

        body = staff_a_client.get(reverse("criteria-set-detail", kwargs={"pk": urban.pk})).json()

        assert body["star_names"] == urban.star_names
        assert len(body["criteria"]) == urban.criteria.count()
        trained = next(c for c in body["criteria"] if c["code"] == "SH-01")
        assert trained == {
            **trained,
            "star": 2,
            "star_name": "共建共享星",
            "source": "MANUAL",
            "kind": "PERCENTAGE",
            "metric_key": "",
        }
        assert isinstance(trained["threshold"], int | float)
        assert {c["star_name"] for c in body["criteria"]} == set(urban.star_names)
        stars = [(c["star"], c["order"]) for c in body["criteria"]]
        assert stars == sorted(stars)

    def test_a_set_by_id_costs_the_same_queries_whatever_its_size(
        self, criteria, staff_a_client, django_assert_max_num_queries
    ):
        rural = CriteriaSet.objects.get(area_type="RURAL")

        # Session, user, the set, its criteria.
        with django_assert_max_num_queries(4):
            response = staff_a_client.get(reverse("criteria-set-detail", kwargs={"pk": rural.pk}))

        assert len(response.json()["criteria"]) == 21


class TestReportScoping:
    def test_staff_see_only_their_townships_reports(self, reports, staff_a_client):
        response = staff_a_client.get(REPORTS_URL)

        assert response.status_code == 200
        assert unit_codes(response) == ["410102001001", "410102001002"]

    def test_a_secretary_sees_only_their_own_branch(self, reports, personas, login):
        assert unit_codes(login(personas.secretary).get(REPORTS_URL)) == ["410102001001"]

    def test_it_returns_404_outside_jurisdiction(self, reports, staff_a_client):
        assert staff_a_client.get(report_url(reports["village_b1"])).status_code == 404

    def test_a_write_outside_jurisdiction_is_404_and_changes_nothing(self, reports, staff_a_client):
        report = reports["village_b1"]

        response = staff_a_client.patch(
            report_url(report),
            {"version": report.version, "values": {"BR-03": {"value": 3}}},
            content_type="application/json",
        )

        assert response.status_code == 404
        assert not report.values.exists()

    def test_a_report_carries_its_values_notes_and_evidence_counts(
        self, report_a1, personas, staff_a_client
    ):
        workflow.report_save_values(
            report=report_a1,
            user=personas.staff_a,
            values={
                "BR-01": workflow.ValueInput(True, "已开展"),
                "BR-05": workflow.ValueInput(Decimal("12.5")),
            },
            expected_version=report_a1.version,
        )
        add_evidence(report_a1, personas.staff_a)

        body = staff_a_client.get(report_url(report_a1)).json()

        assert body["unit_code"] == "410102001001"
        assert body["period"] == "2026-03"
        assert body["status"] == "DRAFT"
        assert body["status_display"] == "草稿"
        values = {v["code"]: v for v in body["values"]}
        assert values["BR-01"] == {
            "code": "BR-01",
            "title": "主题党日按月开展",
            "value": True,
            "note": "已开展",
            "evidence_count": 1,
            "warning": "",
        }
        assert values["BR-05"]["value"] == 12.5
        assert values["BR-05"]["evidence_count"] == 0


class TestReportFilters:
    @pytest.fixture
    def february(self, tree, criteria, personas):
        report = workflow.report_get_or_create(unit=tree.village_a2, period=date(2026, 2, 1))
        return advance(report, personas.staff_a, Status.SUBMITTED)

    def test_period_picks_one_month(self, reports, february, staff_a_client):
        assert unit_codes(staff_a_client.get(REPORTS_URL, {"period": "2026-02"})) == [
            "410102001002"
        ]

    def test_the_newest_month_comes_first(self, reports, february, staff_a_client):
        rows = staff_a_client.get(REPORTS_URL).json()["results"]

        assert [(r["period"], r["unit_code"]) for r in rows] == [
            ("2026-03", "410102001001"),
            ("2026-03", "410102001002"),
            ("2026-02", "410102001002"),
        ]

    def test_status_picks_reports_in_that_state(self, reports, february, staff_a_client):
        rows = staff_a_client.get(REPORTS_URL, {"status": "SUBMITTED"}).json()["results"]

        assert [(r["period"], r["submitted_by"]) for r in rows] == [("2026-02", "staff_a")]

    def test_unit_picks_one_branch(self, reports, february, staff_a_client):
        response = staff_a_client.get(REPORTS_URL, {"unit": "410102001001"})

        assert unit_codes(response) == ["410102001001"]

    def test_under_picks_a_subtree(self, reports, personas, login):
        response = login(personas.county_leader).get(REPORTS_URL, {"under": "410102002"})

        assert unit_codes(response) == ["410102002001"]

    @pytest.mark.parametrize("parameter", ["unit", "under"])
    def test_a_unit_outside_jurisdiction_is_refused_like_an_unknown_one(
        self, reports, staff_a_client, parameter
    ):
        outside = staff_a_client.get(REPORTS_URL, {parameter: "410102002001"})
        unknown = staff_a_client.get(REPORTS_URL, {parameter: "999999"})

        assert outside.status_code == unknown.status_code == 400
        assert outside.json() == unknown.json()

    @pytest.mark.parametrize("period", ["2026/03", "March"])
    def test_a_malformed_period_is_refused_with_the_expected_format(
        self, reports, staff_a_client, period
    ):
        response = staff_a_client.get(REPORTS_URL, {"period": period})

        assert response.status_code == 400
        assert "YYYY-MM" in response.json()["period"][0]

    @pytest.mark.parametrize("period", ["2026-13", "2026-00"])
    def test_a_month_out_of_range_is_refused_as_out_of_range(self, reports, staff_a_client, period):
        response = staff_a_client.get(REPORTS_URL, {"period": period})

        assert response.status_code == 400
        message = response.json()["period"][0]
        assert "月应在 1 至 12 之间" in message
        assert "YYYY-MM" not in message

    @pytest.mark.parametrize("url", [REPORTS_URL, RATINGS_URL])
    @pytest.mark.parametrize("period", ["0001-01", "9999-12"])
    def test_a_period_outside_the_years_kept_is_refused_with_the_range(
        self, reports, staff_a_client, url, period
    ):
        response = staff_a_client.get(url, {"period": period})

        assert response.status_code == 400
        assert response.json()["period"] == [
            f"月份的年份应在 2000 至 2100 年之间，收到的是“{period}”。"
        ]


class TestReportCreate:
    def test_it_creates_a_draft_for_a_new_month(self, tree, criteria, staff_a_client):
        response = staff_a_client.post(
            REPORTS_URL,
            {"unit": "410102001002", "period": "2026-02"},
            content_type="application/json",
        )

        assert response.status_code == 201
        body = response.json()
        report = MonthlyReport.objects.get(pk=body["id"])
        assert (report.unit, report.period, report.status) == (
            tree.village_a2,
            date(2026, 2, 1),
            Status.DRAFT,
        )
        assert body["values"] == []
        assert body["version"] == 1

    def test_it_returns_the_existing_report_of_a_month(self, report_a1, staff_a_client):
        response = staff_a_client.post(
            REPORTS_URL,
            {"unit": "410102001001", "period": "2026-03"},
            content_type="application/json",
        )

        assert response.status_code == 200
        assert response.json()["id"] == report_a1.pk
        assert MonthlyReport.objects.count() == 3

    def test_a_branch_outside_jurisdiction_is_refused_like_an_unknown_one(
        self, criteria, tree, staff_a_client
    ):
        outside = staff_a_client.post(
            REPORTS_URL,
            {"unit": "410102002001", "period": "2026-03"},
            content_type="application/json",
        )

        assert outside.status_code == 400
        assert "不在您的管辖范围内" in outside.json()["unit"][0]
        assert not MonthlyReport.objects.exists()

    @pytest.mark.parametrize(
        ("unit", "period", "message"),
        [
            ("410102001002", "2026-05", "不能填报未来月份"),
            ("410102001", "2026-03", "只有村(社区)"),
        ],
    )
    def test_the_services_refusals_are_explained(
        self, criteria, tree, staff_a_client, unit, period, message
    ):
        response = staff_a_client.post(
            REPORTS_URL, {"unit": unit, "period": period}, content_type="application/json"
        )

        assert response.status_code == 400
        assert message in response.json()["non_field_errors"][0]
        assert not MonthlyReport.objects.exists()

    @pytest.mark.parametrize("period", ["0001-01", "9999-12"])
    def test_a_period_outside_the_years_kept_creates_nothing(
        self, criteria, tree, staff_a_client, period
    ):
        response = staff_a_client.post(
            REPORTS_URL,
            {"unit": "410102001002", "period": period},
            content_type="application/json",
        )

        assert response.status_code == 400
        assert "2000 至 2100" in response.json()["period"][0]
        assert not MonthlyReport.objects.exists()

    def test_a_malformed_period_is_refused(self, criteria, tree, staff_a_client):
        response = staff_a_client.post(
            REPORTS_URL,
            {"unit": "410102001002", "period": "三月"},
            content_type="application/json",
        )

        assert response.status_code == 400
        assert "YYYY-MM" in response.json()["period"][0]


class TestReportValues:
    def patch(self, client, report, values, version=None):
        return client.patch(
            report_url(report),
            {"version": report.version if version is None else version, "values": values},
            content_type="application/json",
        )

    def test_it_saves_values_and_bumps_the_version(self, report_a1, staff_a_client):
        response = self.patch(
            staff_a_client,
            report_a1,
            {"BR-01": {"value": "是", "note": "3月5日开展"}, "BR-03": {"value": 3}},
        )

        assert response.status_code == 200
        body = response.json()
        assert body["version"] == report_a1.version + 1
        assert {v["code"]: (v["value"], v["note"]) for v in body["values"]} == {
            "BR-01": (True, "3月5日开展"),
            "BR-03": (3, ""),
        }
        assert report_a1.values.get(criterion__code="BR-03").value_number == 3

    def test_every_bad_value_is_explained_and_nothing_is_saved(self, report_a1, staff_a_client):
        response = self.patch(
            staff_a_client,
            report_a1,
            {
                "BR-01": {"value": "也许"},
                "BR-03": {"value": "2.5"},
                "SH-01": {"value": 120},
                "BR-05": {"value": 8},
            },
        )

        assert response.status_code == 400
        errors = response.json()["values"]
        assert set(errors) == {"BR-01", "BR-03", "SH-01"}
        assert "应填“是”或“否”" in errors["BR-01"][0]
        assert "应填整数" in errors["BR-03"][0]
        assert "0 到 100" in errors["SH-01"][0]
        report_a1.refresh_from_db()
        assert report_a1.version == 1
        assert not report_a1.values.exists()

    def test_unknown_and_computed_criteria_are_refused(self, report_a1, staff_a_client):
        Criterion.objects.create(
            criteria_set=report_a1.criteria_set,
            code="MT-01",
            star=1,
            title="月度报表按时报送率",
            source=Criterion.Source.METRIC,
            metric_key="branches.on_time_report_rate",
            kind=Criterion.Kind.PERCENTAGE,
            comparator=Criterion.Comparator.GTE,
            threshold=90,
            aggregation=Criterion.Aggregation.METRIC,
        )

        response = self.patch(
            staff_a_client, report_a1, {"XX-99": {"value": 1}, "MT-01": {"value": 95}}
        )

        assert response.status_code == 400
        errors = response.json()["values"]
        assert "XX-99" in errors["XX-99"][0]
        assert "由系统根据业务数据计算" in errors["MT-01"][0]

    def test_a_value_without_a_note_keeps_the_note(self, report_a1, staff_a_client):
        self.patch(staff_a_client, report_a1, {"BR-03": {"value": 3, "note": "含2名新发展"}})
        report_a1.refresh_from_db()

        self.patch(staff_a_client, report_a1, {"BR-03": {"value": 4}})

        value = report_a1.values.get(criterion__code="BR-03")
        assert (value.value_number, value.note) == (4, "含2名新发展")

    def test_null_clears_a_value(self, report_a1, staff_a_client):
        self.patch(staff_a_client, report_a1, {"BR-03": {"value": 3}})
        report_a1.refresh_from_db()

        response = self.patch(staff_a_client, report_a1, {"BR-03": {"value": None}})

        assert response.status_code == 200
        assert response.json()["values"][0]["value"] is None

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"values": {"BR-03": {"value": 3}}}, "version"),
            ({"version": 1}, "values"),
            ({"version": 1, "values": {}}, "values"),
            ({"version": 1, "values": {"BR-03": {"note": "x"}}}, "values"),
        ],
    )
    def test_a_malformed_body_is_refused(self, report_a1, staff_a_client, body, field):
        response = staff_a_client.patch(
            report_url(report_a1), body, content_type="application/json"
        )

        assert response.status_code == 400
        assert field in response.json()

    def test_a_stale_version_is_a_conflict_and_overwrites_nothing(
        self, report_a1, personas, client
    ):
        client.force_login(personas.secretary)
        assert self.patch(client, report_a1, {"BR-03": {"value": 4}}).status_code == 200
        client.force_login(personas.staff_a)

        response = self.patch(client, report_a1, {"BR-03": {"value": 9}}, version=1)

        assert response.status_code == 409
        assert "该月报表在您打开之后已被" in response.json()["detail"]
        assert "shuji" in response.json()["detail"]
        assert response.json()["version"] == 2
        assert report_a1.values.get(criterion__code="BR-03").value_number == 4

    def test_an_approved_report_cannot_be_changed(self, report_a1, personas, staff_a_client):
        advance(report_a1, personas.staff_a, Status.APPROVED, checker=personas.staff_a2)

        response = self.patch(staff_a_client, report_a1, {"BR-03": {"value": 9}})

        assert response.status_code == 400
        assert "不能修改" in response.json()["non_field_errors"][0]

    def test_an_auditor_cannot_change_values(self, report_a1, personas, login):
        response = self.patch(login(personas.auditor), report_a1, {"BR-03": {"value": 3}})

        assert response.status_code == 403
        assert "只能查看" in response.json()["detail"]
        assert not report_a1.values.exists()


class TestWorkflow:
    def post(self, client, report, action, **body):
        return client.post(
            report_url(report, action),
            {"version": report.version, **body},
            content_type="application/json",
        )

    def test_staff_fill_submit_and_approve_and_the_rating_follows(
        self, report_a1, personas, staff_a_client, login, django_capture_on_commit_callbacks
    ):
        response = TestReportValues().patch(staff_a_client, report_a1, passing_values(report_a1))
        assert response.status_code == 200
        report_a1.refresh_from_db()
        add_evidence(report_a1, personas.staff_a)

        with django_capture_on_commit_callbacks(execute=True):
            submitted = self.post(staff_a_client, report_a1, "submit")

        assert submitted.status_code == 200
        assert submitted.json()["status"] == "SUBMITTED"
        assert submitted.json()["submitted_by"] == "staff_a"
        assert BranchRating.objects.filter(unit=report_a1.unit, period=MARCH).exists()
        report_a1.refresh_from_db()

        approved = self.post(login(personas.staff_a2), report_a1, "approve")

        assert approved.status_code == 200
        assert approved.json()["status"] == "APPROVED"
        assert approved.json()["reviewed_by"] == "checker"
        report_a1.refresh_from_db()
        assert report_a1.status == Status.APPROVED

    def test_submit_lists_what_is_missing(self, report_a1, staff_a_client):
        response = self.post(staff_a_client, report_a1, "submit")

        assert response.status_code == 400
        assert any(m.startswith("未填报：") for m in response.json()["non_field_errors"])
        report_a1.refresh_from_db()
        assert report_a1.status == Status.DRAFT

    def test_a_secretary_submits_but_cannot_approve(self, report_a1, personas, login):
        client = login(personas.secretary)
        fill(report_a1, personas.secretary)

        assert self.post(client, report_a1, "submit").status_code == 200
        report_a1.refresh_from_db()
        response = self.post(client, report_a1, "approve")

        assert response.status_code == 403
        assert "乡镇(街道)工作人员" in response.json()["detail"]
        report_a1.refresh_from_db()
        assert report_a1.status == Status.SUBMITTED

    def test_return_needs_a_reason(self, report_a1, personas, staff_a_client):
        advance(report_a1, personas.staff_a, Status.SUBMITTED)

        missing = staff_a_client.post(
            report_url(report_a1, "return"),
            {"version": report_a1.version},
            content_type="application/json",
        )
        blank = self.post(staff_a_client, report_a1, "return", reason="  ")
        returned = self.post(staff_a_client, report_a1, "return", reason="佐证不清晰")

        assert missing.status_code == 400
        assert "reason" in missing.json()
        assert blank.status_code == 400
        assert "请填写退回原因" in blank.json()["non_field_errors"][0]
        assert returned.status_code == 200
        assert returned.json()["status"] == "RETURNED"
        assert returned.json()["return_reason"] == "佐证不清晰"

    def test_a_county_leader_unlocks_an_approved_report(self, report_a1, personas, login):
        advance(report_a1, personas.staff_a, Status.APPROVED, checker=personas.staff_a2)

        response = self.post(login(personas.county_leader), report_a1, "unlock", reason="数据更正")

        assert response.status_code == 200
        assert response.json()["status"] == "RETURNED"
        assert response.json()["unlock_reason"] == "数据更正"

    def test_township_staff_cannot_unlock(self, report_a1, personas, staff_a_client):
        advance(report_a1, personas.staff_a, Status.APPROVED, checker=personas.staff_a2)

        response = self.post(staff_a_client, report_a1, "unlock", reason="更正")

        assert response.status_code == 403
        report_a1.refresh_from_db()
        assert report_a1.status == Status.APPROVED

    def test_an_action_on_a_stale_version_is_a_conflict(self, report_a1, personas, staff_a_client):
        fill(report_a1, personas.staff_a)

        response = self.post(staff_a_client, report_a1, "submit", version=1)

        assert response.status_code == 409
        assert response.json()["version"] == report_a1.version
        report_a1.refresh_from_db()
        assert report_a1.status == Status.DRAFT

    def test_an_illegal_transition_is_explained(self, report_a1, staff_a_client):
        response = self.post(staff_a_client, report_a1, "approve")

        assert response.status_code == 400
        assert "只有已提交的报表" in response.json()["non_field_errors"][0]


def monthly_ratings():
    return {r.unit.code: r for r in BranchRating.objects.filter(kind=Rating.MONTHLY)}


@pytest.fixture
def rated(tree, criteria):
    """Monthly and annual ratings of every branch for March; nobody reported, nobody has a star."""
    ratings_recompute(period=MARCH)
    ratings_recompute(period=MARCH, kind=Rating.ANNUAL)
    return monthly_ratings()


@pytest.fixture
def five_star_a2(tree, personas, rated):
    """村A2 submits January to March meeting every criterion: five stars in March."""
    for month in (1, 2, 3):
        report = workflow.report_get_or_create(unit=tree.village_a2, period=date(2026, month, 1))
        advance(report, personas.staff_a, Status.SUBMITTED)
    ratings_recompute(period=MARCH)
    return monthly_ratings()


class TestRatings:
    def test_staff_see_only_their_townships_ratings(self, rated, staff_a_client):
        response = staff_a_client.get(RATINGS_URL)

        assert response.status_code == 200
        assert unit_codes(response) == ["410102001001", "410102001002"]
        assert {r["kind"] for r in response.json()["results"]} == {"MONTHLY"}

    def test_it_returns_404_outside_jurisdiction(self, rated, staff_a_client):
        assert staff_a_client.get(rating_url(rated["410102002001"])).status_code == 404

    def test_a_rating_names_the_stars_held_and_explains_the_gaps(
        self, five_star_a2, staff_a_client
    ):
        five = staff_a_client.get(rating_url(five_star_a2["410102001002"])).json()
        none = staff_a_client.get(rating_url(five_star_a2["410102001001"])).json()

        assert five["level"] == 5
        assert five["stars"] == [1, 2, 3, 4, 5]
        assert five["stars_held"] == list(CriteriaSet.objects.get(area_type="RURAL").star_names)
        assert five["gaps"] == []
        assert five["period"] == "2026-03"
        assert (none["level"], none["stars_held"]) == (0, [])
        assert "未填报" in none["gaps"][0]
        stored = StarAssessment.objects.filter(unit__code="410102001001", kind="MONTHLY")
        assert none["gaps"] == list(
            dict.fromkeys(g for s in stored.order_by("star") for g in s.gaps)
        )
        assert none["gap_count"] > 0

    def test_the_list_gives_gaps_only_when_asked(self, five_star_a2, staff_a_client):
        plain = staff_a_client.get(RATINGS_URL).json()["results"]
        with_gaps = staff_a_client.get(RATINGS_URL, {"include": "gaps"}).json()["results"]

        assert [r["gaps"] for r in plain] == [None, None]
        assert with_gaps[0]["gaps"] and with_gaps[1]["gaps"] == []

    def test_an_unknown_include_is_refused(self, rated, staff_a_client):
        response = staff_a_client.get(RATINGS_URL, {"include": "everything"})

        assert response.status_code == 400
        assert "gaps" in response.json()["include"][0]

    def test_an_annual_rating_is_found_by_id(self, rated, staff_a_client):
        annual = BranchRating.objects.get(unit__code="410102001002", kind=Rating.ANNUAL)

        body = staff_a_client.get(rating_url(annual)).json()

        assert (body["kind"], body["period"]) == ("ANNUAL", "2026-01")


class TestRatingFilters:
    @pytest.fixture
    def one_star_a1(self, rated):
        """建设路社区 holds only its third star; 西流湖村 holds all five."""
        BranchRating.objects.filter(pk=rated["410102001001"].pk).update(level=1, has_star_3=True)
        BranchRating.objects.filter(pk=rated["410102001002"].pk).update(
            level=5, **{f"has_star_{n}": True for n in range(1, 6)}
        )
        return rated

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"period": "2026-03"}, ["410102001001", "410102001002"]),
            ({"period": "2026-02"}, []),
            ({"kind": "ANNUAL"}, ["410102001001", "410102001002"]),
            ({"level": 5}, ["410102001002"]),
            ({"level": 1}, ["410102001001"]),
            ({"star": 3}, ["410102001001", "410102001002"]),
            ({"star": 2}, ["410102001002"]),
            ({"missing_star": 2}, ["410102001001"]),
            ({"missing_star": 3}, []),
            ({"area_type": "URBAN"}, ["410102001001"]),
            ({"under": "410102001002"}, ["410102001002"]),
            ({"level": 1, "area_type": "RURAL"}, []),
        ],
    )
    def test_filters(self, one_star_a1, staff_a_client, params, expected):
        response = staff_a_client.get(RATINGS_URL, params)

        assert response.status_code == 200
        assert unit_codes(response) == expected

    def test_kind_filters_annual_ratings(self, one_star_a1, staff_a_client):
        rows = staff_a_client.get(RATINGS_URL, {"kind": "ANNUAL"}).json()["results"]

        assert {(r["kind"], r["period"]) for r in rows} == {("ANNUAL", "2026-01")}

    def test_a_county_leader_filters_under_a_township(self, one_star_a1, personas, login):
        response = login(personas.county_leader).get(RATINGS_URL, {"under": "410102002"})

        assert unit_codes(response) == ["410102002001"]

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"under": "410102002"}, "under"),
            ({"under": "999999"}, "under"),
            ({"star": 6}, "star"),
            ({"missing_star": 0}, "missing_star"),
            ({"level": 7}, "level"),
            ({"kind": "WEEKLY"}, "kind"),
            ({"period": "2026"}, "period"),
        ],
    )
    def test_bad_filters_are_refused(self, rated, staff_a_client, params, field):
        response = staff_a_client.get(RATINGS_URL, params)

        assert response.status_code == 400
        assert field in response.json()


class TestQueryCount:
    @pytest.fixture
    def many_branches(self, tree, criteria, personas):
        """Forty more villages under township A, each with a submitted March report."""
        staff = personas.staff_a
        for n in range(40):
            village = OrgUnitFactory(
                code=f"4101020019{n:02d}", name=f"分页村{n}", parent=tree.township_a
            )
            report = workflow.report_get_or_create(unit=village, period=MARCH)
            MonthlyReport.objects.filter(pk=report.pk).update(
                status=Status.APPROVED, submitted_by=staff, reviewed_by=staff
            )
        ratings_recompute(period=MARCH)

    @pytest.mark.parametrize("page_size", [2, 40])
    def test_the_reports_list_costs_the_same_whatever_the_page_size(
        self, many_branches, staff_a_client, django_assert_max_num_queries, page_size
    ):
        # Session, user, the user's unit (jurisdiction), count, page.
        with django_assert_max_num_queries(5):
            response = staff_a_client.get(REPORTS_URL, {"page_size": page_size})

        assert len(response.json()["results"]) == page_size
        assert response.json()["results"][0]["reviewed_by"] == "staff_a"

    @pytest.mark.parametrize("page_size", [2, 40])
    def test_the_ratings_list_with_gaps_costs_the_same_whatever_the_page_size(
        self, many_branches, staff_a_client, django_assert_max_num_queries, page_size
    ):
        # Session, user, the user's unit, count, page, the page's star assessments.
        with django_assert_max_num_queries(6):
            response = staff_a_client.get(RATINGS_URL, {"page_size": page_size, "include": "gaps"})

        rows = response.json()["results"]
        assert len(rows) == page_size
        assert all(row["gaps"] for row in rows)

    def test_a_report_costs_the_same_whatever_its_number_of_values(
        self, report_a1, personas, staff_a_client, django_assert_max_num_queries
    ):
        fill(report_a1, personas.staff_a)

        # Session, user, the user's unit, the report, its values with evidence counts.
        with django_assert_max_num_queries(5):
            response = staff_a_client.get(report_url(report_a1))

        assert len(response.json()["values"]) == 20


ALL_PERSONAS = [*PERSONA_NAMES, "anonymous"]
EVERYONE = dict.fromkeys(PERSONA_NAMES, 200)
# 建设路社区 (A1): inside every jurisdiction but township B's and the grid worker's compound.
IN_A1 = EVERYONE | {"staff_b": 404, "grid_worker": 404}
# Grid workers read no reports (User.can_read_reports): 403 on every reports endpoint.
READ_REPORTS = {"grid_worker": 403}
READ_ONLY = {"province_leader": 403, "county_leader": 403, "auditor": 403}
ENTER = {"admin": 200, "staff_a": 200, "secretary": 200, "staff_b": 404} | READ_REPORTS
REVIEW = ENTER | {"secretary": 403}
NOT_ALLOWED = dict.fromkeys(PERSONA_NAMES, 405)

# (endpoint, method, state of A1's March report, expected status per persona)
MATRIX = [
    ("criteria-sets", "get", None, EVERYONE),
    ("criteria-sets", "post", None, NOT_ALLOWED),
    ("criteria-set", "get", None, EVERYONE),
    ("reports", "get", Status.DRAFT, EVERYONE | READ_REPORTS),
    (
        "reports",
        "post",
        Status.DRAFT,
        ENTER | READ_ONLY | {"staff_b": 400, "grid_worker": 403},
    ),
    ("report", "get", Status.DRAFT, IN_A1 | READ_REPORTS),
    ("report", "patch", Status.DRAFT, ENTER | READ_ONLY | {"grid_worker": 403}),
    ("report", "put", Status.DRAFT, NOT_ALLOWED),
    ("report", "delete", Status.DRAFT, NOT_ALLOWED),
    ("submit", "post", "FILLED", ENTER | READ_ONLY),
    ("approve", "post", Status.SUBMITTED, REVIEW | READ_ONLY),
    ("return", "post", Status.SUBMITTED, REVIEW | READ_ONLY),
    (
        "unlock",
        "post",
        Status.APPROVED,
        {
            "admin": 200,
            "province_leader": 200,
            "county_leader": 200,
            "staff_a": 403,
            "staff_b": 404,
            "secretary": 403,
            "auditor": 403,
            "grid_worker": 403,
        },
    ),
    ("ratings", "get", "RATED", EVERYONE),
    ("ratings", "post", "RATED", NOT_ALLOWED),
    ("rating", "get", "RATED", IN_A1),
    ("rating", "delete", "RATED", NOT_ALLOWED),
]


def matrix_target(endpoint, state, tree, personas):
    """The URL and body of one matrix cell, with A1's March report in the given state."""
    if endpoint == "criteria-sets":
        return CRITERIA_SETS_URL, {}
    if endpoint == "criteria-set":
        return reverse("criteria-set-detail", kwargs={"pk": CriteriaSet.objects.first().pk}), {}
    if state == "RATED":
        ratings_recompute(period=MARCH)
        rating = BranchRating.objects.get(unit=tree.village_a1)
        return (RATINGS_URL if endpoint == "ratings" else rating_url(rating)), {}
    report = workflow.report_get_or_create(unit=tree.village_a1, period=MARCH)
    if state == "FILLED":
        fill(report, personas.admin)
    elif state in (Status.SUBMITTED, Status.APPROVED):
        # Submitted by the checker persona (outside the matrix), so every persona's cell
        # shows its role's rule; maker–checker has its own matrix.
        advance(report, personas.staff_a2, state, checker=personas.admin)
    body = {"version": report.version, "reason": "原因"}
    if endpoint == "reports":
        return REPORTS_URL, {"unit": "410102001001", "period": "2026-03"}
    if endpoint == "report":
        return report_url(report), {"version": report.version, "values": {"BR-03": {"value": 3}}}
    return report_url(report, endpoint), body


@pytest.mark.parametrize("persona", ALL_PERSONAS)
@pytest.mark.parametrize(("endpoint", "method", "state", "expected"), MATRIX)
def test_permission_matrix(
    client, tree, criteria, personas, persona, endpoint, method, state, expected
):
    url, body = matrix_target(endpoint, state, tree, personas)
    if persona != "anonymous":
        client.force_login(getattr(personas, persona))

    if method == "get":
        response = client.get(url)
    else:
        response = getattr(client, method)(url, data=body, content_type="application/json")

    # Token authentication first: an anonymous caller gets 401 with WWW-Authenticate.
    assert response.status_code == expected.get(persona, 401), response.content


class TestSchema:
    def test_the_schema_documents_the_assessment_api(self, personas, login):
        schema = login(personas.staff_a).get(reverse("api-schema"), {"format": "json"}).json()

        validate_schema(schema)
        assert set(schema["paths"]) >= {
            "/api/v1/criteria-sets/",
            "/api/v1/criteria-sets/{id}/",
            "/api/v1/reports/",
            "/api/v1/reports/{id}/",
            "/api/v1/reports/{id}/submit/",
            "/api/v1/reports/{id}/approve/",
            "/api/v1/reports/{id}/return/",
            "/api/v1/reports/{id}/unlock/",
            "/api/v1/ratings/",
            "/api/v1/ratings/{id}/",
        }
        ratings = schema["paths"]["/api/v1/ratings/"]["get"]
        assert {p["name"] for p in ratings["parameters"]} >= {
            "period",
            "kind",
            "level",
            "star",
            "missing_star",
            "under",
            "area_type",
            "include",
        }
        assert ratings["summary"] == "星级评定列表"
        assert "409" in schema["paths"]["/api/v1/reports/{id}/"]["patch"]["responses"]

    def test_the_schema_generates_without_warnings(self, db, capsys):
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")

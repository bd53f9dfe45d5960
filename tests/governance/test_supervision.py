"""Supervision reports: set-based, idempotent generation; frozen published snapshots;
publish and regenerate rules; one access rule for pages, files and the API; the chain from a
finished closed-month recompute; the PDF renders Chinese."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader

from branches.metrics import MetricRegistry, Window
from branches.models import BranchRating, MonthlyReport, OrgUnit, Rating, RecomputeRun
from branches.signals import run_finished
from governance.models import PublishedSnapshotError, SupervisionReport, User
from governance.services import supervision
from tests.branches.factories import OrgUnitFactory
from tests.governance.factories import UserFactory

PERIOD = date(2026, 3, 1)
L = OrgUnit.Level


def tree(townships: int, villages: int):
    """province > city > county > townships > villages, each village rated in PERIOD (its
    level i % 6) and in the month before (one star lower, never below 0)."""
    province = OrgUnitFactory(level=L.PROVINCE, name="测试省")
    city = OrgUnitFactory(parent=province, level=L.CITY, name="测试市")
    county = OrgUnitFactory(parent=city, level=L.COUNTY, name="测试县")
    now = timezone.now()
    rows, i = [], 0
    for t in range(townships):
        township = OrgUnitFactory(parent=county, level=L.TOWNSHIP, name=f"测试镇{t}")
        for _v in range(villages):
            village = OrgUnitFactory(parent=township, name=f"村{i}")
            for period, level in ((PERIOD, i % 6), (date(2026, 2, 1), max(i % 6 - 1, 0))):
                rows.append(
                    BranchRating(
                        unit=village,
                        unit_path=village.path,
                        area_type="RURAL",
                        period=period,
                        kind=Rating.MONTHLY,
                        level=level,
                        has_star_1=level >= 1,
                        has_star_2=level >= 2,
                        has_star_3=level >= 3,
                        has_star_4=level >= 4,
                        has_star_5=level >= 5,
                        criteria_set_id=1,
                        computed_at=now,
                    )
                )
            i += 1
    BranchRating.objects.bulk_create(rows)
    return province, county


def leader(unit, role=User.Role.LEADER, **kwargs):
    return UserFactory(role=role, unit=unit, **kwargs)


@pytest.mark.django_db
def test_every_report_unit_gets_one_draft_with_the_figures_of_its_jurisdiction():
    _province, county = tree(2, 3)
    result = supervision.reports_generate(PERIOD)
    assert result["created"] == 1 + 1 + 1 + 2
    report = SupervisionReport.objects.get(unit=county)
    snap = report.snapshot
    assert report.status == SupervisionReport.Status.DRAFT and report.version == 1
    assert snap["headline"]["total"] == 6
    assert snap["headline"]["by_level"] == [1, 1, 1, 1, 1, 1]
    assert snap["headline"]["share_3plus"] == 50.0
    assert [row["name"] for row in snap["submission"]["children"]] == ["测试镇0", "测试镇1"]
    # Every branch but the zero-star one went up a star; none has a report: all missing.
    assert snap["gained"]["count"] == 5 and snap["lost"]["count"] == 0
    assert snap["zero"]["count"] == 1 and snap["zero"]["items"][0]["name"] == "村0"
    assert snap["submission"]["missing"]["count"] == 6


def test_section_numbers_read_as_chinese_numerals():
    numbers = [supervision.chinese_numeral(n) for n in (1, 7, 10, 11, 14, 20, 23, 99)]
    assert numbers == ["一", "七", "十", "十一", "十四", "二十", "二十三", "九十九"]


@pytest.mark.django_db
def test_every_registered_metric_gets_a_section_however_many(monkeypatch):
    tree(2, 3)
    fresh = MetricRegistry()
    monkeypatch.setattr(supervision, "registry", fresh)
    for n in range(14):
        fresh.register(f"test.m{n}", title=f"指标{n}", unit="%")(lambda window, ids: {})
    supervision.reports_generate(PERIOD)
    report = SupervisionReport.objects.filter(unit__level=L.COUNTY).get()
    headings = [section["heading"] for section in report.snapshot["metric_sections"]]
    numbers = [heading.split("、")[0] for heading in headings]
    assert numbers == [supervision.chinese_numeral(n) for n in range(7, 21)]
    assert numbers[3] == "十" and numbers[-1] == "二十"
    assert {heading.split("、")[1] for heading in headings} == {f"指标{n}" for n in range(14)}


@pytest.mark.django_db
def test_each_records_app_metric_gets_a_section_averaged_over_the_branches(monkeypatch, client):
    _province, county = tree(2, 3)
    fresh = MetricRegistry()
    monkeypatch.setattr(supervision, "registry", fresh)
    names = dict(OrgUnit.objects.filter(level=L.VILLAGE).values_list("pk", "name"))
    windows = []

    @fresh.register("test.visit_coverage", title="走访覆盖率", unit="%")
    def coverage(window, ids):
        windows.append(window)
        # 村0 has no households (None); 村i has 10 x i %.
        return {pk: Decimal(10 * int(names[pk][1:])) for pk in ids if names[pk] != "村0"}

    fresh.register("branches.own", title="本应用自有")(lambda window, ids: {})
    supervision.reports_generate(PERIOD)
    (section,) = SupervisionReport.objects.get(unit=county).snapshot["metric_sections"]
    assert windows == [Window(2026, 3, 3)]  # one call for the whole tree, the month itself
    assert section["heading"] == "七、走访覆盖率" and section["unit"] == "%"
    # 村1..村5: 10, 20, 30, 40, 50 -> 30; 测试镇0 (村0..村2): 15; 测试镇1 (村3..村5): 40.
    assert section["overall"] == {"name": "全辖区", "branches": 6, "counted": 5, "average": 30.0}
    assert [(r["name"], r["counted"], r["average"]) for r in section["rows"]] == [
        ("测试镇0", 2, 15.0),
        ("测试镇1", 3, 40.0),
    ]
    township = OrgUnit.objects.get(name="测试镇0")
    (township_section,) = SupervisionReport.objects.get(unit=township).snapshot["metric_sections"]
    assert [(r["name"], r["average"]) for r in township_section["rows"]] == [
        ("村0", None),
        ("村1", 10.0),
        ("村2", 20.0),
    ]
    client.force_login(leader(county))
    report = SupervisionReport.objects.get(unit=county)
    page = client.get(f"/supervision/{report.pk}/").content.decode()
    assert "七、走访覆盖率" in page and "本月全辖区平均 30.0%" in page
    assert client.get(f"/supervision/{report.pk}/xlsx/").status_code == 200


@pytest.mark.django_db
def test_generation_is_set_based_the_query_count_does_not_grow_with_the_tree():
    tree(2, 2)
    with CaptureQueriesContext(connection) as small:
        supervision.reports_generate(PERIOD)
    SupervisionReport.objects.all().delete()
    OrgUnit.objects.all().delete()
    BranchRating.objects.all().delete()
    tree(7, 5)
    with CaptureQueriesContext(connection) as large:
        supervision.reports_generate(PERIOD)
    assert SupervisionReport.objects.count() == 10
    assert len(large) == len(small), [q["sql"][:80] for q in large]


@pytest.mark.django_db
def test_generating_twice_gives_the_same_snapshots():
    tree(2, 3)
    supervision.reports_generate(PERIOD)
    first = dict(SupervisionReport.objects.values_list("unit_id", "snapshot"))
    result = supervision.reports_generate(PERIOD)
    assert result == {"created": 0, "replaced": 5, "kept": 0}
    assert dict(SupervisionReport.objects.values_list("unit_id", "snapshot")) == first


@pytest.mark.django_db
def test_a_published_snapshot_never_changes_with_the_data():
    _province, county = tree(1, 2)
    supervision.reports_generate(PERIOD)
    report = SupervisionReport.objects.get(unit=county)
    supervision.report_publish(leader(county), report)
    frozen = SupervisionReport.objects.get(pk=report.pk).snapshot
    BranchRating.objects.filter(period=PERIOD).update(level=5)
    supervision.reports_generate(PERIOD)
    assert SupervisionReport.objects.get(pk=report.pk).snapshot == frozen
    report.refresh_from_db()
    report.snapshot = {"changed": True}
    with pytest.raises(PublishedSnapshotError):
        report.save()


@pytest.mark.django_db
def test_regenerating_a_published_report_needs_a_reason_and_makes_a_new_version():
    _province, county = tree(1, 2)
    supervision.reports_generate(PERIOD)
    user = leader(county)
    report = supervision.report_publish(user, SupervisionReport.objects.get(unit=county))
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        supervision.report_regenerate(user, report, reason="  ")
    BranchRating.objects.filter(period=PERIOD).update(level=5)
    new = supervision.report_regenerate(user, report, reason="数据更正")
    assert new.version == 2 and new.is_latest and new.status == SupervisionReport.Status.DRAFT
    assert new.snapshot["headline"]["by_level"][5] == 2
    report.refresh_from_db()
    assert not report.is_latest and report.is_published
    # A draft is replaced in place.
    again = supervision.report_regenerate(user, new)
    assert again.pk == new.pk and SupervisionReport.objects.filter(unit=county).count() == 2
    # An old version cannot be published or regenerated.
    with pytest.raises(supervision.ConflictError):
        supervision.report_regenerate(user, report, reason="x")


@pytest.mark.django_db
def test_publish_refuses_a_draft_regenerated_since_it_was_read():
    _province, county = tree(1, 1)
    supervision.reports_generate(PERIOD)
    report = SupervisionReport.objects.get(unit=county)
    seen = report.generated_at.isoformat()
    supervision.reports_generate(PERIOD)
    report.refresh_from_db()
    with pytest.raises(supervision.ConflictError):
        supervision.report_publish(leader(county), report, generated_at=seen)


@pytest.mark.django_db
def test_late_and_submitted_branches_are_counted_by_the_workbench_definition(criteria):
    _province, county = tree(1, 2)
    first, second = OrgUnit.objects.filter(level=L.VILLAGE).order_by("path")
    due = timezone.make_aware(timezone.datetime(2026, 4, 20, 12))
    from branches.models import CriteriaSet

    criteria_set = CriteriaSet.objects.filter(year=2026).first()
    MonthlyReport.objects.create(
        unit=first,
        period=PERIOD,
        criteria_set=criteria_set,
        status=MonthlyReport.Status.APPROVED,
        first_submitted_at=due,
        submitted_at=due,
    )
    supervision.reports_generate(PERIOD)
    sub = SupervisionReport.objects.get(unit=county).snapshot["submission"]
    assert (sub["submitted"], sub["missing"]["count"]) == (1, 1)
    assert sub["missing"]["items"][0]["name"] == second.name


@pytest.mark.django_db
def test_a_finished_closed_month_run_of_every_branch_generates_the_reports(
    django_capture_on_commit_callbacks,
):
    tree(1, 1)
    run = RecomputeRun.objects.create(
        period=PERIOD, kind=Rating.MONTHLY, origin=RecomputeRun.Origin.ON_DEMAND
    )
    run_finished.send(sender=RecomputeRun, run_id=run.pk)
    assert not SupervisionReport.objects.exists()
    RecomputeRun.objects.filter(pk=run.pk).update(origin=RecomputeRun.Origin.CLOSED_MONTH)
    run_finished.send(sender=RecomputeRun, run_id=run.pk)
    assert SupervisionReport.objects.filter(period=PERIOD).count() == 4


@pytest.mark.django_db
def test_run_finish_sends_the_signal_after_commit(django_capture_on_commit_callbacks):
    from branches.services.runs import run_finish_if_complete

    tree(1, 1)
    run = RecomputeRun.objects.create(
        period=PERIOD, kind=Rating.MONTHLY, origin=RecomputeRun.Origin.CLOSED_MONTH
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert run_finish_if_complete(run.pk)
    assert SupervisionReport.objects.filter(period=PERIOD).count() == 4


@pytest.mark.django_db
def test_the_pdf_renders_the_unit_name_in_chinese(client):
    _province, county = tree(1, 2)
    supervision.reports_generate(PERIOD)
    report = SupervisionReport.objects.get(unit=county)
    client.force_login(leader(county))
    response = client.get(f"/supervision/{report.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "测试县" in text and "草稿" in text


# The access matrix: (role, where) -> expected status of read / act.
@pytest.fixture
def world():
    _province, county = tree(2, 1)
    city = OrgUnit.objects.get_parent(county)
    other_county = OrgUnitFactory(parent=city, level=L.COUNTY, name="别的县")
    other_township = OrgUnitFactory(parent=other_county, level=L.TOWNSHIP, name="别的镇")
    OrgUnitFactory(parent=other_township, name="别的村")
    supervision.reports_generate(PERIOD)
    township = OrgUnit.objects.filter(level=L.TOWNSHIP, path__startswith=county.path).first()
    return {
        "county": county,
        "township": township,
        "other": other_county,
        "report": SupervisionReport.objects.get(unit=county),
        "other_report": SupervisionReport.objects.get(unit=other_county),
    }


READ_PAGES = ["/supervision/{pk}/", "/supervision/{pk}/pdf/", "/supervision/{pk}/xlsx/"]
API_READS = [
    "/api/v1/supervision-reports/{pk}/",
    "/api/v1/supervision-reports/{pk}/pdf/",
    "/api/v1/supervision-reports/{pk}/xlsx/",
]
# role, unit key, may read the county's report, may publish
MATRIX = [
    (User.Role.LEADER, "county", True, True),
    (User.Role.AUDITOR, "county", True, False),
    (User.Role.TOWNSHIP_STAFF, "township", False, False),
    (User.Role.LEADER, "other", False, True),
    (User.Role.GRID_WORKER, "county", False, False),
    (User.Role.ADMIN, None, True, True),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "where", "reads", "publishes"), MATRIX)
def test_permission_matrix_pages_files_and_api(client, world, role, where, reads, publishes):
    user = UserFactory(role=role, unit=world[where] if where else None)
    client.force_login(user)
    pk = world["report"].pk
    for url in READ_PAGES + API_READS:
        status = client.get(url.format(pk=pk)).status_code
        assert status == (200 if reads else 404), (url, status)
    assert client.get("/supervision/").status_code == 200
    listed = client.get("/api/v1/supervision-reports/").json()
    assert (pk in [row["id"] for row in listed["results"]]) == reads
    # Acting: out of scope 404, in scope but not a leader 403.
    expected = 404 if not reads else (302 if publishes else 403)
    response = client.post(f"/supervision/{pk}/publish/")
    assert response.status_code == expected
    api = client.post(
        f"/api/v1/supervision-reports/{pk}/regenerate/",
        {"reason": "更正"},
        content_type="application/json",
    )
    assert api.status_code == (404 if not reads else (200 if publishes else 403))


@pytest.mark.django_db
def test_bad_input_is_a_400_or_404_never_a_500(client, world):
    client.force_login(leader(world["county"]))
    assert client.get("/supervision/?month=2026-13&level=9&status=X").status_code == 200
    assert client.get("/api/v1/supervision-reports/?period=bad").status_code == 400
    assert client.get("/api/v1/supervision-reports/99999999999999/").status_code == 404
    bad = client.post(
        "/api/v1/supervision-reports/generate/",
        {"unit": world["county"].code, "period": "2026-99"},
        content_type="application/json",
    )
    assert bad.status_code == 400
    outside = client.post(
        "/api/v1/supervision-reports/generate/",
        {"unit": world["other"].code, "period": "2026-03"},
        content_type="application/json",
    )
    assert outside.status_code == 404
    ok = client.post(
        "/api/v1/supervision-reports/generate/",
        {"unit": world["township"].code, "period": "2026-03"},
        content_type="application/json",
    )
    assert ok.status_code == 200 and ok.json()["unit_code"] == world["township"].code
    # A draft has no publisher: null, as the schema says.
    assert ok.json()["published_by"] is None


@pytest.mark.django_db
def test_publish_from_the_page_then_the_report_is_on_the_home_pages(client, world):
    report = world["report"]
    client.force_login(leader(world["county"]))
    page = client.get(f"/supervision/{report.pk}/")
    assert "发布" in page.content.decode()
    unconfirmed = client.post(
        f"/supervision/{report.pk}/publish/", {"generated_at": report.generated_at.isoformat()}
    )
    report.refresh_from_db()
    assert unconfirmed.status_code == 302 and not report.is_published
    client.post(
        f"/supervision/{report.pk}/publish/",
        {"generated_at": report.generated_at.isoformat(), "confirm": "on"},
    )
    report.refresh_from_db()
    assert report.is_published
    api = client.get(f"/api/v1/supervision-reports/{report.pk}/").json()
    assert api["status"] == "PUBLISHED" and api["published_by"] is not None
    home_county = client.get("/").content.decode()
    assert f"/supervision/{report.pk}/" in home_county
    client.force_login(leader(OrgUnit.objects.get_parent(world["county"])))
    assert f"/supervision/{report.pk}/" in client.get("/").content.decode()
    client.force_login(
        leader(OrgUnit.objects.get_parent(OrgUnit.objects.get_parent(world["county"])))
    )
    assert f"/supervision/{report.pk}/" not in client.get("/").content.decode()
    # A published one regenerates only with a reason.
    client.force_login(leader(world["county"]))
    client.post(f"/supervision/{report.pk}/regenerate/", {"reason": ""})
    assert SupervisionReport.objects.filter(unit=world["county"]).count() == 1
    client.post(f"/supervision/{report.pk}/regenerate/", {"reason": "补报后更新"})
    assert SupervisionReport.objects.filter(unit=world["county"]).count() == 2


@pytest.mark.django_db
def test_rectification_items_for_every_branch_that_lost_a_star(client):
    from datetime import timedelta

    from branches.models import Rectification

    _province, county = tree(1, 3)
    BranchRating.objects.filter(period=PERIOD, level__gte=2).update(level=0)
    supervision.reports_generate(PERIOD)
    report = SupervisionReport.objects.get(unit=county)
    assert report.snapshot["lost"]["count"] == 1
    deadline = (timezone.localdate() + timedelta(days=30)).isoformat()
    client.force_login(UserFactory(role=User.Role.AUDITOR, unit=county))
    assert (
        client.post(f"/supervision/{report.pk}/rectify/", {"deadline": deadline}).status_code == 403
    )
    client.force_login(leader(county))
    client.post(f"/supervision/{report.pk}/rectify/", {"deadline": "soon"})
    assert not Rectification.objects.exists()
    client.post(f"/supervision/{report.pk}/rectify/", {"deadline": deadline})
    client.post(f"/supervision/{report.pk}/rectify/", {"deadline": deadline})
    item = Rectification.objects.get()
    assert item.branch.name == "村2" and "降星" in item.problem


@pytest.mark.django_db
def test_publishing_notifies_the_readers_of_the_unit_and_the_one_above(world):
    from governance.models import Notification

    county, township = world["county"], world["township"]
    city = OrgUnit.objects.get_parent(county)
    publisher = leader(county, username="publisher")
    leader(county, username="colleague")
    leader(city, username="city_leader")
    leader(county, role=User.Role.AUDITOR, username="county_auditor")
    leader(township, role=User.Role.TOWNSHIP_STAFF, username="below")
    leader(county, username="away", is_active=False)
    supervision.report_publish(publisher, world["report"])
    rows = Notification.objects.order_by("recipient__username")
    assert [n.recipient.username for n in rows] == ["city_leader", "colleague", "county_auditor"]
    assert rows[0].url == f"/supervision/{world['report'].pk}/"
    assert "督导通报（第 1 版）已发布" in rows[0].message

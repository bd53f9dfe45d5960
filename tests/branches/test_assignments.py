"""包联: assigning leaders to branches, the visit log, the leader's home list, the branch page,
and the permission matrix of every page and endpoint (role × in/out of jurisdiction)."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from branches.models import AssignmentVisit, LeaderAssignment, Rating, Rectification
from branches.services import assignments as service
from governance.models import User
from tests.branches.test_exports import rate
from tests.conftest import PERSONA_NAMES
from tests.governance.factories import UserFactory

pytestmark = pytest.mark.usefixtures("april_third")
FEBRUARY, MARCH = date(2026, 2, 1), date(2026, 3, 1)


@pytest.fixture
def township_leader(tree):
    return UserFactory(username="zhen_leader", role=User.Role.LEADER, unit=tree.township_b)


@pytest.fixture
def assignment(tree, personas):
    """The county leader 包联 建设路社区 (township A) this year."""
    return service.assignment_create(
        user=personas.county_leader,
        leader=personas.county_leader,
        branch=tree.village_a1,
        year=2026,
    )


@pytest.fixture
def outside(tree, personas):
    """The province leader 包联 淮河村 of the other county."""
    return service.assignment_create(
        user=personas.province_leader,
        leader=personas.province_leader,
        branch=tree.village_other,
        year=2026,
    )


# Validation.


def test_a_county_leader_assigns_a_leader_a_branch_of_their_jurisdiction(
    tree, personas, assignment
):
    assert assignment.created_by == personas.county_leader
    assert assignment.history.count() == 1
    assert assignment.history.first().history_user == personas.county_leader


@pytest.mark.parametrize("role", ["TOWNSHIP_STAFF", "AUDITOR", "SECRETARY"])
def test_only_a_leader_can_be_assigned(tree, personas, role):
    other = UserFactory(username="not_a_leader", role=role, unit=tree.township_a)
    with pytest.raises(ValidationError) as error:
        service.assignment_create(
            user=personas.county_leader, leader=other, branch=tree.village_a1, year=2026
        )
    assert "只能安排党委/组织部领导包联支部" in error.value.messages[0]


def test_the_branch_must_be_inside_the_leaders_jurisdiction(tree, personas, township_leader):
    with pytest.raises(ValidationError) as error:
        service.assignment_create(
            user=personas.county_leader, leader=township_leader, branch=tree.village_a1, year=2026
        )
    assert "不在" in error.value.messages[0] and "须弥" not in error.value.messages[0]
    assert "须水街道" in error.value.messages[0]


def test_only_a_rated_branch_can_be_assigned(tree, personas):
    with pytest.raises(ValidationError) as error:
        service.assignment_create(
            user=personas.county_leader,
            leader=personas.county_leader,
            branch=tree.township_a,
            year=2026,
        )
    assert "不是村(社区)党组织" in error.value.messages[0]


def test_the_same_assignment_twice_is_refused_with_a_message_and_by_the_database(
    tree, personas, assignment
):
    with pytest.raises(ValidationError) as error:
        service.assignment_create(
            user=personas.county_leader,
            leader=personas.county_leader,
            branch=tree.village_a1,
            year=2026,
        )
    assert "不能重复安排" in error.value.messages[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        LeaderAssignment.objects.create(
            leader=personas.county_leader, branch=tree.village_a1, year=2026
        )
    # Another year is another assignment.
    service.assignment_create(
        user=personas.county_leader,
        leader=personas.county_leader,
        branch=tree.village_a1,
        year=2027,
    )


def test_a_township_leader_or_an_auditor_cannot_assign(tree, personas, township_leader):
    for user in (township_leader, personas.auditor, personas.staff_b):
        with pytest.raises(PermissionDenied):
            service.assignment_create(
                user=user, leader=personas.county_leader, branch=tree.village_b1, year=2026
            )


def test_the_form_says_what_is_wrong(tree, personas, login, township_leader):
    client = login(personas.county_leader)
    url = reverse("assignment_create")
    response = client.post(url, {"leader": "staff_a", "branch": "410102001001", "year": "2026"})
    assert "只能安排党委/组织部领导包联支部" in response.content.decode()
    response = client.post(url, {"leader": "nobody", "branch": "410103001001", "year": "20266"})
    text = response.content.decode()
    assert "找不到用户名为“nobody”的用户" in text
    assert "找不到编码为“410103001001”的单位" in text
    assert "年度不能晚于 2100 年" in text
    response = client.post(url, {"leader": "xian", "branch": "410102001001", "year": "2026"})
    assignment = LeaderAssignment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("assignment_detail", args=[assignment.pk])
    response = client.post(url, {"leader": "xian", "branch": "410102001001", "year": "2026"})
    assert "不能重复安排" in response.content.decode()


# Visits.


def test_the_assigned_leader_records_a_visit(personas, assignment):
    visit = service.visit_add(
        assignment=assignment,
        user=personas.county_leader,
        visited_on=date(2026, 4, 2),
        findings="台账不全",
        decisions="月底前补齐",
    )
    assert visit.recorded_by == personas.county_leader
    assert list(assignment.visits.all()) == [visit]


@pytest.mark.parametrize(
    ("day", "message"),
    [(date(2026, 4, 4), "在今天之后"), (date(2025, 12, 30), "须在包联年度 2026 年内")],
)
def test_a_visit_in_the_future_or_outside_the_year_is_refused(personas, assignment, day, message):
    with pytest.raises(ValidationError) as error:
        service.visit_add(
            assignment=assignment,
            user=personas.county_leader,
            visited_on=day,
            findings="x",
            decisions="y",
        )
    assert message in " ".join(error.value.messages)


def test_only_the_assigned_leader_records_visits(personas, assignment):
    for user in (personas.province_leader, personas.auditor, personas.admin):
        with pytest.raises(PermissionDenied):
            service.visit_add(
                assignment=assignment,
                user=user,
                visited_on=date(2026, 4, 1),
                findings="x",
                decisions="y",
            )


def test_the_visit_form_adds_a_visit_and_explains_a_bad_date(personas, login, assignment):
    client = login(personas.county_leader)
    url = reverse("assignment_detail", args=[assignment.pk])
    response = client.post(url, {"visited_on": "2026-05-01", "findings": "a", "decisions": "b"})
    assert "在今天之后" in response.content.decode()
    response = client.post(url, {"visited_on": "not a date", "findings": "", "decisions": ""})
    text = response.content.decode()
    assert "日期格式应为" in text and "请填写议定事项" in text
    response = client.post(url, {"visited_on": "2026-04-01", "findings": "a", "decisions": "b"})
    assert response.status_code == 302
    assert AssignmentVisit.objects.filter(assignment=assignment).count() == 1


# The leader's home and the branch page.


def test_the_leaders_home_lists_their_branches_with_level_and_change(
    tree, personas, login, assignment, criteria
):
    rate(tree.village_a1, stars=(2, 3), period=MARCH)
    rate(tree.village_a1, stars=(2, 3, 4), period=FEBRUARY)
    text = login(personas.county_leader).get(reverse("home")).content.decode()
    assert "我包联的支部（2026 年度）" in text
    assert "建设路社区" in text and "2★" in text
    assert '<span class="text-danger">-1</span>' in text
    rows = service.leader_branches(personas.county_leader)["rows"]
    assert [(r["branch"], r["level"], r["change"]) for r in rows] == [(tree.village_a1, 2, -1)]
    # Another leader's home does not list it.
    assert service.leader_branches(personas.province_leader)["rows"] == []
    assert service.leader_branches(personas.staff_a) is None


def test_the_leaders_home_counts_the_open_rectification_items(tree, personas, login, assignment):
    Status = Rectification.Status
    for status in (Status.OPEN, Status.IN_PROGRESS, Status.OVERDUE, Status.DONE, Status.VERIFIED):
        Rectification.objects.create(
            branch=tree.village_a1,
            period=MARCH,
            problem="台账不全",
            deadline=date(2026, 4, 30),
            status=status,
        )
    rows = service.leader_branches(personas.county_leader)["rows"]
    assert [r["open_items"] for r in rows] == [3]
    text = login(personas.county_leader).get(reverse("home")).content.decode()
    assert '<span class="badge text-bg-warning">3</span>' in text


def test_the_branch_page_names_its_leader(tree, personas, login, assignment):
    text = login(personas.staff_a).get(reverse("branches:unit_detail", args=["410102001001"]))
    text = text.content.decode()
    assert "2026 年度包联领导" in text
    assert reverse("assignment_detail", args=[assignment.pk]) in text


def test_the_home_list_reads_a_fixed_number_of_queries(
    tree, personas, criteria, django_assert_num_queries
):
    for unit in (tree.village_a1, tree.village_a2, tree.village_b1):
        service.assignment_create(
            user=personas.admin, leader=personas.county_leader, branch=unit, year=2026
        )
        rate(unit, stars=(2,), period=MARCH, kind=Rating.MONTHLY)
    with django_assert_num_queries(4):
        assert len(service.leader_branches(personas.county_leader)["rows"]) == 3


# The list page.


def test_the_list_filters_by_year_leader_and_unit_and_is_scoped(
    tree, personas, login, assignment, outside
):
    client = login(personas.county_leader)
    url = reverse("assignment_list")
    assert "建设路社区" in client.get(url).content.decode()
    assert "淮河村" not in client.get(url).content.decode()
    assert "建设路社区" not in client.get(url, {"year": "2025"}).content.decode()
    assert "建设路社区" not in client.get(url, {"leader": "sheng"}).content.decode()
    assert "建设路社区" not in client.get(url, {"unit": "410102002"}).content.decode()
    for junk in ({"year": "x" * 5000}, {"page": "-1"}, {"unit": "9" * 99}, {"leader": "'" * 999}):
        assert client.get(url, junk).status_code == 200
    # Control characters are refused by the middleware for every page.
    assert client.get(url, {"unit": "\x00"}).status_code == 400
    empty = client.get(url, {"year": "2030"}).content.decode()
    assert "没有符合条件的包联安排" in empty


# Permission matrix: pages.

# persona: (list, create form, detail in scope, detail outside)
PAGES = {
    "admin": (200, 200, 200, 200),
    "province_leader": (200, 200, 200, 200),
    "county_leader": (200, 200, 200, 404),
    "staff_a": (200, 403, 200, 404),
    "staff_b": (200, 403, 404, 404),
    "secretary": (200, 403, 200, 404),
    "auditor": (200, 403, 200, 404),
    "grid_worker": (403, 403, 403, 403),
}


@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_page_permission_matrix(persona, personas, login, assignment, outside):
    client = login(getattr(personas, persona))
    got = (
        client.get(reverse("assignment_list")).status_code,
        client.get(reverse("assignment_create")).status_code,
        client.get(reverse("assignment_detail", args=[assignment.pk])).status_code,
        client.get(reverse("assignment_detail", args=[outside.pk])).status_code,
    )
    assert got == PAGES[persona]


@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_only_the_assigned_leader_may_post_a_visit(persona, personas, login, assignment):
    client = login(getattr(personas, persona))
    response = client.post(
        reverse("assignment_detail", args=[assignment.pk]),
        {"visited_on": "2026-04-01", "findings": "a", "decisions": "b"},
    )
    expected = {"county_leader": 302, "staff_b": 404}.get(persona, 403)
    assert response.status_code == expected


def test_bad_ids_answer_404(personas, login):
    client = login(personas.admin)
    for pk in ("0", "abc", "9" * 40):
        assert client.get(reverse("assignment_detail", args=[pk])).status_code == 404


def test_pages_need_a_login(client, assignment):
    for url in (reverse("assignment_list"), reverse("assignment_detail", args=[assignment.pk])):
        assert client.get(url).status_code == 302


# Permission matrix: API.

# persona: (list, retrieve in scope, retrieve outside, create, visits GET, visits POST)
API = {
    "admin": (200, 200, 200, 201, 200, 403),
    "province_leader": (200, 200, 200, 201, 200, 403),
    "county_leader": (200, 200, 404, 201, 200, 201),
    "staff_a": (200, 200, 404, 403, 200, 403),
    "staff_b": (200, 404, 404, 403, 404, 404),
    "secretary": (200, 200, 404, 403, 200, 403),
    "auditor": (200, 200, 404, 403, 200, 403),
    "grid_worker": (403, 403, 403, 403, 403, 403),
}


@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_api_permission_matrix(persona, tree, personas, login, assignment, outside):
    client = login(getattr(personas, persona))
    base = "/api/v1/assignments/"
    visit = {"visited_on": "2026-04-01", "findings": "a", "decisions": "b"}
    got = (
        client.get(base).status_code,
        client.get(f"{base}{assignment.pk}/").status_code,
        client.get(f"{base}{outside.pk}/").status_code,
        client.post(
            base,
            {"leader": "xian", "branch": "410102002001", "year": 2026},
            content_type="application/json",
        ).status_code,
        client.get(f"{base}{assignment.pk}/visits/").status_code,
        client.post(
            f"{base}{assignment.pk}/visits/", visit, content_type="application/json"
        ).status_code,
    )
    assert got == API[persona]


def test_the_api_lists_only_the_jurisdiction_and_filters(personas, login, assignment, outside):
    client = login(personas.county_leader)
    data = client.get("/api/v1/assignments/").json()
    assert [row["branch_code"] for row in data["results"]] == ["410102001001"]
    assert client.get("/api/v1/assignments/", {"year": 2025}).json()["count"] == 0
    assert client.get("/api/v1/assignments/", {"under": "410103"}).status_code == 400
    assert client.get("/api/v1/assignments/", {"year": "abc"}).status_code == 400


def test_the_api_explains_a_refused_assignment(personas, login, assignment):
    client = login(personas.county_leader)
    response = client.post(
        "/api/v1/assignments/",
        {"leader": "xian", "branch": "410102001001", "year": 2026},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "不能重复安排" in response.json()["non_field_errors"][0]
    response = client.post(
        "/api/v1/assignments/",
        {"leader": "staff_a", "branch": "410102001002", "year": 1},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "year" in response.json()
    response = client.post(
        f"/api/v1/assignments/{assignment.pk}/visits/",
        {"visited_on": "2026-12-01", "findings": "a", "decisions": "b"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "在今天之后" in response.json()["non_field_errors"][0]


def test_the_branch_page_counts_its_open_and_overdue_rectification_items(
    tree, personas, login, assignment
):
    for status in ("OPEN", "OVERDUE", "VERIFIED"):
        Rectification.objects.create(
            branch=tree.village_a1,
            period=date(2026, 3, 1),
            problem="问题",
            deadline=date(2026, 4, 30),
            status=status,
        )
    url = reverse("branches:unit_detail", args=[tree.village_a1.code])
    text = login(personas.staff_a).get(url).content.decode()
    assert "未完成 2 项（共 3 项）" in text and "逾期 1 项" in text
    assert "未完成 2 项" in login(personas.auditor).get(url).content.decode()

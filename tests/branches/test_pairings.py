"""结对: suggestion ranking (complementary stars first, then distance in the hierarchy), the
pair rules (levels, same county, one confirmed partner a year), and the permission matrix
of every page and endpoint."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from branches.models import OrgUnit, Pairing
from branches.services import assignments as service
from branches.services.assignments import Candidate, hierarchy_distance, rank_partners
from governance.models import User
from tests.branches.factories import OrgUnitFactory
from tests.branches.test_exports import rate
from tests.conftest import PERSONA_NAMES
from tests.governance.factories import UserFactory

pytestmark = pytest.mark.usefixtures("april_third", "criteria")
MARCH = date(2026, 3, 1)
Status = Pairing.Status


def candidate(code, path, stars, pk=None):
    return Candidate(
        unit_id=pk or int(code),
        code=code,
        name=code,
        path=path,
        level=len(stars),
        stars=frozenset(stars),
    )


# Ranking: a pure function.


def test_hierarchy_distance_counts_steps_to_the_nearest_common_unit():
    assert hierarchy_distance("0001000100010001", "0001000100010002") == 1
    assert hierarchy_distance("0001000100010001", "0001000200010002") == 3
    assert hierarchy_distance("00010001000100010001", "00010001000100020001") == 2


def test_complementary_stars_rank_first_then_the_nearer_branch_then_level():
    weak = candidate("1", "00010001000100010001", {2, 3})  # lacks 1, 4, 5
    near_two = candidate("2", "00010001000100010002", {2, 3, 4, 5})  # gives 4, 5; same township
    far_three = candidate("3", "00010001000100020001", {1, 2, 3, 4, 5})  # gives 1, 4, 5
    far_two = candidate("4", "00010001000100020002", {2, 3, 4, 5})
    near_none = candidate("5", "00010001000100010003", {2, 3})  # nothing to give
    ranked = rank_partners(weak, [far_two, near_none, near_two, far_three])
    assert [s.strong.code for s in ranked] == ["3", "2", "4"]
    assert [(s.complementary, s.distance) for s in ranked] == [(3, 2), (2, 1), (2, 2)]


def test_at_most_three_partners_and_never_itself():
    weak = candidate("1", "0001000100010001", set())
    strong = [candidate(str(n), f"000100010001{n:04d}", {1, 2, 3, 4}) for n in range(2, 9)]
    assert len(rank_partners(weak, strong)) == 3
    assert rank_partners(weak, [weak]) == []


# The county's suggestions, from the stored ratings.


@pytest.fixture
def county_rated(tree):
    """March ratings in 中原区: three weak branches, two strong ones (one per township)."""
    a3 = OrgUnitFactory(code="410102001003", name="强村甲", parent=tree.township_a)
    b2 = OrgUnitFactory(code="410102002002", name="强村乙", parent=tree.township_b)
    rate(tree.village_a1, stars=(2, 3))
    rate(tree.village_a2, stars=())
    rate(tree.village_b1, stars=(2, 3, 4))
    rate(a3, stars=(2, 3, 4, 5))
    rate(b2, stars=(1, 2, 3, 4, 5))
    rate(tree.village_other, stars=(1, 2, 3, 4, 5))
    return a3, b2


def test_suggestions_rank_the_countys_strong_branches_for_each_weak_one(tree, county_rated):
    result = service.pairing_suggestions(tree.county, year=2026)
    got = {row["weak"].code: [s.strong.code for s in row["partners"]] for row in result["rows"]}
    assert got == {
        "410102001001": ["410102002002", "410102001003"],
        "410102001002": ["410102002002", "410102001003"],
        "410102002001": ["410102002002", "410102001003"],
    }
    assert result["period"] == MARCH
    assert (result["strong_count"], result["weak_count"]) == (2, 3)


def test_suggestions_read_a_fixed_number_of_queries(tree, county_rated, django_assert_num_queries):
    with django_assert_num_queries(2):
        service.pairing_suggestions(tree.county, year=2026)
    for n in range(10):
        unit = OrgUnitFactory(code=f"41010200200{n + 3:02d}", parent=tree.township_b)
        rate(unit, stars=(2,) if n % 2 else (1, 2, 3, 4))
    with django_assert_num_queries(2):
        assert len(service.pairing_suggestions(tree.county, year=2026)["rows"]) == 8


def test_a_confirmed_weak_branch_leaves_the_suggestions(tree, personas, county_rated):
    a3, _b2 = county_rated
    service.pairing_create_confirmed(
        user=personas.county_leader, strong=a3, weak=tree.village_a1, year=2026
    )
    rows = service.pairing_suggestions(tree.county, year=2026)["rows"]
    assert "410102001001" not in [row["weak"].code for row in rows]


# The pair rules.


def test_a_pair_needs_a_strong_and_a_weak_branch_of_one_county(tree, personas, county_rated):
    a3, b2 = county_rated
    leader = personas.province_leader
    cases = [
        (tree.village_b1, tree.village_a1, "强支部须为四星或五星支部"),
        (a3, b2, "弱支部须为三星及以下支部"),
        (tree.village_other, tree.village_a1, "须在同一个县(区)内"),
        (a3, a3, "不能是同一个支部"),
        (a3, tree.township_a, "都须是参加评星的村(社区)党组织"),
    ]
    for strong, weak, message in cases:
        with pytest.raises(ValidationError) as error:
            service.pairing_propose(user=leader, strong=strong, weak=weak, year=2026)
        assert message in " ".join(error.value.messages), (strong, weak)


def test_a_branch_without_a_rating_cannot_be_paired(tree, personas, county_rated):
    unrated = OrgUnitFactory(code="410102002009", parent=tree.township_b)
    with pytest.raises(ValidationError) as error:
        service.pairing_propose(
            user=personas.county_leader, strong=county_rated[0], weak=unrated, year=2026
        )
    assert "还没有 2026-03 的星级评定" in error.value.messages[0]


def test_a_weak_branch_has_one_confirmed_partner_a_year(tree, personas, county_rated):
    a3, b2 = county_rated
    leader = personas.county_leader
    first = service.pairing_create_confirmed(
        user=leader, strong=a3, weak=tree.village_a1, year=2026
    )
    assert (first.status, first.confirmed_by, first.complementary_stars) == (
        Status.CONFIRMED,
        leader,
        2,
    )
    second = service.pairing_propose(user=leader, strong=b2, weak=tree.village_a1, year=2026)
    with pytest.raises(ValidationError) as error:
        service.pairing_confirm(pairing=second, user=leader)
    assert "已与“强村甲”确认结对" in error.value.messages[0]
    # The database holds the rule whatever the code path.
    Pairing.objects.filter(pk=second.pk).update(status=Status.ENDED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Pairing.objects.filter(pk=second.pk).update(status=Status.CONFIRMED)
    # Ended, the branch may be paired again.
    service.pairing_end(pairing=first, user=leader)
    third = service.pairing_create_confirmed(
        user=leader, strong=b2, weak=tree.village_a1, year=2026
    )
    assert third.status == Status.CONFIRMED
    # A strong branch may help several weak ones.
    service.pairing_create_confirmed(user=leader, strong=b2, weak=tree.village_a2, year=2026)


def test_only_county_leaders_and_above_confirm_and_end(tree, personas, county_rated):
    a3, _b2 = county_rated
    township_leader = UserFactory(username="zl", role=User.Role.LEADER, unit=tree.township_a)
    for user in (township_leader, personas.auditor, personas.staff_a):
        with pytest.raises(PermissionDenied):
            service.pairing_propose(user=user, strong=a3, weak=tree.village_a1, year=2026)
    pairing = service.pairing_propose(
        user=personas.admin, strong=a3, weak=tree.village_a1, year=2026
    )
    for user in (township_leader, personas.auditor):
        with pytest.raises(PermissionDenied):
            service.pairing_confirm(pairing=pairing, user=user)
    ended = service.pairing_end(pairing=pairing, user=personas.county_leader)
    assert ended.status == Status.ENDED and ended.history.count() == 2
    with pytest.raises(ValidationError):
        service.pairing_end(pairing=ended, user=personas.county_leader)


def test_the_branch_page_names_its_partner(tree, personas, login, county_rated):
    a3, _b2 = county_rated
    service.pairing_create_confirmed(
        user=personas.county_leader, strong=a3, weak=tree.village_a1, year=2026
    )
    client = login(personas.staff_a)
    text = client.get(reverse("branches:unit_detail", args=[tree.village_a1.code])).content
    assert "强村甲" in text.decode() and "帮扶本支部" in text.decode()
    text = client.get(reverse("branches:unit_detail", args=[a3.code])).content.decode()
    assert "建设路社区" in text and "本支部帮扶" in text


# Pages.


def test_the_suggestions_page_confirms_a_pair_in_one_click(tree, personas, login, county_rated):
    client = login(personas.county_leader)
    url = reverse("pairing_suggestions", args=[tree.county.code])
    text = client.get(url).content.decode()
    assert "强村乙" in text and "互补 3 星" in text and "确认结对" in text
    response = client.post(
        reverse("pairing_confirm_new", args=[tree.county.code]),
        {"strong": "410102002002", "weak": "410102001001", "year": "2026"},
    )
    assert response.status_code == 302
    assert Pairing.objects.get().status == Status.CONFIRMED
    # The same weak branch again: refused with the reason, nothing new stored.
    response = client.post(
        reverse("pairing_confirm_new", args=[tree.county.code]),
        {"strong": "410102001003", "weak": "410102001001", "year": "2026"},
        follow=True,
    )
    assert "已与“强村乙”确认结对" in response.content.decode()
    assert Pairing.objects.filter(status=Status.CONFIRMED).count() == 1
    listed = client.get(reverse("pairing_list"), {"status": "CONFIRMED"}).content.decode()
    assert "强村乙" in listed and "建设路社区" in listed


def test_the_pairs_list_has_an_empty_state_and_survives_bad_filters(personas, login):
    client = login(personas.county_leader)
    for params in ({}, {"year": "abc"}, {"status": "x" * 3000}, {"page": "999"}):
        response = client.get(reverse("pairing_list"), params)
        assert response.status_code == 200
        assert "没有符合条件的结对" in response.content.decode()


# persona: (pairs list, suggestions own county, suggestions other county, confirm POST, end)
PAGES = {
    "admin": (200, 200, 200, 302, 302),
    "province_leader": (200, 200, 200, 302, 302),
    "county_leader": (200, 200, 404, 302, 302),
    "staff_a": (200, 404, 404, 404, 403),
    "staff_b": (200, 404, 404, 404, 404),
    "secretary": (200, 404, 404, 404, 404),
    "auditor": (200, 200, 404, 403, 403),
    "grid_worker": (403, 403, 403, 403, 403),
}


@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_page_permission_matrix(persona, tree, personas, login, county_rated):
    a3, _b2 = county_rated
    pairing = service.pairing_propose(
        user=personas.admin, strong=a3, weak=tree.village_a2, year=2026
    )
    client = login(getattr(personas, persona))
    got = (
        client.get(reverse("pairing_list")).status_code,
        client.get(reverse("pairing_suggestions", args=[tree.county.code])).status_code,
        client.get(reverse("pairing_suggestions", args=[tree.other_county.code])).status_code,
        client.post(
            reverse("pairing_confirm_new", args=[tree.county.code]),
            {"strong": a3.code, "weak": tree.village_a1.code, "year": "2026"},
        ).status_code,
        client.post(reverse("pairing_end", args=[pairing.pk])).status_code,
    )
    assert got == PAGES[persona]


def test_a_code_that_is_not_a_county_answers_404(tree, personas, login):
    client = login(personas.admin)
    for code in (tree.township_a.code, "nope", "9" * 200):
        assert client.get(reverse("pairing_suggestions", args=[code])).status_code == 404


# API.

# persona: (list, suggestions own county, other county, propose, confirm, end)
API = {
    "admin": (200, 200, 200, 201, 200, 200),
    "province_leader": (200, 200, 200, 201, 200, 200),
    "county_leader": (200, 200, 404, 201, 200, 200),
    "staff_a": (200, 404, 404, 403, 403, 403),
    "staff_b": (200, 404, 404, 403, 404, 404),
    "secretary": (200, 404, 404, 403, 404, 404),
    "auditor": (200, 200, 404, 403, 403, 403),
    "grid_worker": (403, 403, 403, 403, 403, 403),
}


@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_api_permission_matrix(persona, tree, personas, login, county_rated):
    a3, b2 = county_rated
    to_confirm = service.pairing_propose(
        user=personas.admin, strong=a3, weak=tree.village_a2, year=2026
    )
    to_end = service.pairing_propose(
        user=personas.admin, strong=a3, weak=tree.village_a1, year=2026
    )
    client = login(getattr(personas, persona))
    base = "/api/v1/pairings/"
    got = (
        client.get(base).status_code,
        client.get(f"{base}suggestions/", {"county": tree.county.code}).status_code,
        client.get(f"{base}suggestions/", {"county": tree.other_county.code}).status_code,
        client.post(
            base,
            {"strong": b2.code, "weak": tree.village_b1.code, "year": 2026},
            content_type="application/json",
        ).status_code,
        client.post(f"{base}{to_confirm.pk}/confirm/").status_code,
        client.post(f"{base}{to_end.pk}/end/").status_code,
    )
    assert got == API[persona]


def test_the_api_suggestions_and_refusals(tree, personas, login, county_rated):
    client = login(personas.county_leader)
    data = client.get("/api/v1/pairings/suggestions/", {"county": "410102"}).json()
    assert data[0]["code"] == "410102001001"
    assert data[0]["partners"][0] == {
        "code": "410102002002",
        "name": "强村乙",
        "level": 5,
        "complementary": 3,
        "distance": 2,
    }
    assert client.get("/api/v1/pairings/suggestions/").status_code == 404
    bad_year = client.get("/api/v1/pairings/suggestions/", {"county": "410102", "year": "x"})
    assert bad_year.status_code == 400
    response = client.post(
        "/api/v1/pairings/",
        {"strong": "410102002001", "weak": "410102001001", "year": 2026},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "强支部须为四星或五星支部" in response.json()["non_field_errors"][0]
    for pk in ("abc", "0"):
        assert client.post(f"/api/v1/pairings/{pk}/confirm/").status_code == 404
    assert client.get("/api/v1/pairings/", {"status": "NOPE"}).status_code == 400


def test_the_demo_has_assignments_visits_and_a_consistent_pair(db, django_db_blocker):
    from branches.demo.hierarchy import demo_seed
    from branches.demo.values import demo_values_seed
    from branches.models import AssignmentVisit, BranchRating, LeaderAssignment

    demo_seed(scale="town")
    demo_values_seed(seed=2026)
    assert LeaderAssignment.objects.filter(leader__username="demo_xian").count() == 2
    assert LeaderAssignment.objects.filter(leader__username="demo_shi").count() == 1
    assert AssignmentVisit.objects.count() == 6
    pair = Pairing.objects.get()
    assert pair.status == Status.CONFIRMED
    ratings = BranchRating.objects.filter(period=MARCH, kind="MONTHLY")
    assert ratings.get(unit=pair.strong).level >= 4
    assert ratings.get(unit=pair.weak).level <= 3
    assert OrgUnit.objects.filter(pk=pair.weak_id, path__startswith=pair.county.path).exists()

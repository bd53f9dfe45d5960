from datetime import date

import pytest
from django.core.exceptions import ValidationError

from branches.metrics import MetricRegistry, Window
from branches.models import CriteriaSet, Criterion
from branches.services.criteria import criteria_defaults_load, criteria_set_copy
from branches.services.recompute import ratings_recompute


@pytest.fixture
def sets(db):
    return {s.area_type: s for s in criteria_defaults_load(year=2026)}


def test_the_defaults_load_both_sets_marked_as_editable_defaults(sets):
    rural, urban = sets["RURAL"], sets["URBAN"]
    assert rural.star_names == [
        "支部过硬星",
        "产业兴旺星",
        "生态宜居星",
        "平安法治星",
        "文明幸福星",
    ]
    assert urban.star_names == [
        "支部过硬星",
        "共建共享星",
        "平安法治星",
        "幸福和谐星",
        "宜业兴业星",
    ]
    assert rural.is_default_catalogue and rural.capstone
    assert "以当地正式文件为准" in rural.note
    assert {"BR-01", "VT-01", "IN-01", "CI-04"} <= set(
        rural.criteria.values_list("code", flat=True)
    )
    assert {"SH-01", "JO-03", "SA-05"} <= set(urban.criteria.values_list("code", flat=True))


def test_loading_the_defaults_twice_changes_nothing(sets):
    assert criteria_defaults_load(year=2026) == []
    assert CriteriaSet.objects.count() == 2


def test_a_new_version_becomes_active_and_leaves_the_old_one_as_it_was(sets):
    old = sets["RURAL"]
    copy = criteria_set_copy(source=old)
    old.refresh_from_db()
    assert (copy.version, copy.is_active, old.is_active) == (2, True, False)
    assert copy.criteria.count() == old.criteria.count()
    assert set(copy.criteria.values_list("code", "threshold")) == set(
        old.criteria.values_list("code", "threshold")
    )


def test_copy_to_next_year_refuses_a_year_that_already_has_a_set(sets):
    next_year = criteria_set_copy(source=sets["URBAN"], year=2027)
    assert (next_year.year, next_year.version, next_year.name.startswith("2027")) == (
        2027,
        1,
        True,
    )
    with pytest.raises(ValidationError):
        criteria_set_copy(source=sets["URBAN"], year=2027)


def test_a_set_used_by_a_rating_is_locked_and_the_admin_shows_it_read_only(sets, tree, client):
    from tests.governance.factories import UserFactory

    ratings_recompute(period=date(2026, 3, 1))
    rural = CriteriaSet.objects.get(pk=sets["RURAL"].pk)
    assert rural.is_locked
    admin = UserFactory(username="root", role="ADMIN", is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.get(f"/admin/branches/criteriaset/{rural.pk}/change/")
    assert response.status_code == 200
    assert "不能直接修改" in response.content.decode()
    assert 'name="threshold' not in response.content.decode()


def test_the_admin_copies_a_set_as_a_new_version(sets, client):
    from tests.governance.factories import UserFactory

    admin = UserFactory(username="root", role="ADMIN", is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.post(
        "/admin/branches/criteriaset/",
        {"action": "copy_as_new_version", "_selected_action": [sets["RURAL"].pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert CriteriaSet.objects.filter(area_type="RURAL", version=2, is_active=True).exists()


def test_the_database_refuses_a_metric_criterion_without_a_key(sets):
    criterion = Criterion(
        criteria_set=sets["RURAL"],
        code="X-01",
        star=1,
        title="测试",
        source="METRIC",
        kind="PERCENTAGE",
        comparator="GTE",
        threshold=90,
        aggregation="METRIC",
    )
    with pytest.raises(ValidationError) as error:
        criterion.full_clean()
    assert "指标键" in str(error.value)


def test_the_registry_fills_units_the_metric_knows_nothing_about_with_none():
    registry = MetricRegistry()

    @registry.register("test.constant", title="常数")
    def constant(window, unit_ids):
        return {unit_ids[0]: 7}

    assert registry.compute("test.constant", Window(2026, 1, 3), [1, 2]) == {1: 7, 2: None}
    assert "test.constant" in registry
    with pytest.raises(ValueError):
        registry.register("test.constant", title="重复")(lambda window, ids: {})


def _admin_add(client, star_names: str):
    from tests.governance.factories import UserFactory

    admin = UserFactory(username="root", role="ADMIN", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client.post(
        "/admin/branches/criteriaset/add/",
        {
            "year": 2027,
            "area_type": "RURAL",
            "version": 1,
            "name": "2027年农村",
            "star_names": star_names,
            "capstone": "on",
            "is_active": "on",
            "note": "",
            "criteria-TOTAL_FORMS": 0,
            "criteria-INITIAL_FORMS": 0,
        },
    )


@pytest.mark.parametrize(
    ("star_names", "message"),
    [
        ('["支部过硬星", "产业兴旺星", "生态宜居星", "平安法治星"]', "应正好 5 个，现在是 4 个"),
        ('["一", "二", "三", "四", "五", "六"]', "应正好 5 个，现在是 6 个"),
        ('["支部过硬星", "  ", "生态宜居星", "平安法治星", "文明幸福星"]', "第2颗星的名称为空"),
        (
            '["支部过硬星", 2, "生态宜居星", "平安法治星", "文明幸福星"]',
            "第2颗星的名称为空或不是文字",
        ),
        ('{"1": "支部过硬星"}', "应写成按顺序排列的列表"),
    ],
)
def test_the_admin_refuses_star_names_that_are_not_five_names(db, client, star_names, message):
    response = _admin_add(client, star_names)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not CriteriaSet.objects.filter(year=2027).exists()


def test_the_admin_saves_five_names_trimmed_whatever_the_first_one_is(db, client):
    response = _admin_add(
        client, '[" 组织过硬星 ", "产业兴旺星", "生态宜居星", "平安法治星", "文明幸福星"]'
    )

    assert response.status_code == 302
    saved = CriteriaSet.objects.get(year=2027)
    assert saved.star_names == [
        "组织过硬星",
        "产业兴旺星",
        "生态宜居星",
        "平安法治星",
        "文明幸福星",
    ]

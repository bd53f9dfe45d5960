import pytest
from django.db import IntegrityError, transaction

from branches.models import OrgUnit

L = OrgUnit.Level


def test_visible_to_is_the_users_unit_and_its_descendants(personas, tree):
    codes = set(OrgUnit.objects.visible_to(personas.staff_a).values_list("code", flat=True))
    assert codes == {
        tree.township_a.code,
        tree.village_a1.code,
        tree.village_a2.code,
        tree.compound_a1.code,
        tree.building_a1.code,
    }


def test_visible_to_gives_an_administrator_without_unit_everything(personas):
    assert OrgUnit.objects.visible_to(personas.admin).count() == OrgUnit.objects.count()


def test_visible_to_gives_an_anonymous_or_inactive_user_nothing(personas, django_user_model):
    from django.contrib.auth.models import AnonymousUser

    assert not OrgUnit.objects.visible_to(AnonymousUser()).exists()
    personas.staff_a.is_active = False
    assert not OrgUnit.objects.visible_to(personas.staff_a).exists()


def test_rated_counts_only_village_level_units(tree):
    assert OrgUnit.objects.under(tree.county).rated().count() == 3
    assert OrgUnit.objects.under(tree.province).rated().count() == 4


def test_ancestors_are_read_from_the_path(tree):
    names = [u.name for u in tree.building_a1.breadcrumbs()]
    assert names == ["河南省", "郑州市", "中原区", "林山寨街道", "建设路社区", "锦绣小区", "1号楼"]


def test_the_database_refuses_a_child_not_below_its_parent(tree):
    with pytest.raises(IntegrityError), transaction.atomic():
        OrgUnit.objects.add_child(tree.township_a, dict(code="X1", name="错误", level=L.COUNTY))
    with pytest.raises(IntegrityError), transaction.atomic():
        OrgUnit.objects.add_child(tree.township_a, dict(code="X2", name="同级", level=L.TOWNSHIP))


def test_the_database_refuses_raising_a_unit_to_its_childrens_level(tree):
    tree.township_a.level = L.VILLAGE
    tree.township_a.area_type = OrgUnit.AreaType.RURAL
    with pytest.raises(IntegrityError), transaction.atomic():
        tree.township_a.save()


def test_the_database_refuses_duplicate_codes(tree):
    with pytest.raises(IntegrityError), transaction.atomic():
        OrgUnit.objects.add_child(
            tree.township_a,
            dict(code=tree.village_b1.code, name="重复", level=L.VILLAGE, area_type="RURAL"),
        )


def test_the_database_refuses_a_rated_unit_without_area_type(tree):
    with pytest.raises(IntegrityError), transaction.atomic():
        OrgUnit.objects.add_child(
            tree.township_a, dict(code="X3", name="无类型", level=L.VILLAGE, area_type="")
        )


def test_the_database_refuses_a_second_root(tree):
    with pytest.raises(IntegrityError), transaction.atomic():
        OrgUnit.objects.add_root(dict(code="42", name="湖北省", level=L.PROVINCE))


def test_under_the_root_is_every_unit_without_a_path_test(tree):
    qs = OrgUnit.objects.under(tree.province)
    assert "LIKE" not in str(qs.query).upper()
    assert qs.count() == OrgUnit.objects.count()

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from volunteers.models import mask_name, mask_phone
from volunteers.services import orders

pytestmark = pytest.mark.usefixtures("april_third")


@pytest.mark.parametrize(
    "phone,masked",
    [
        ("13812345678", "138****5678"),
        ("12345678", "12****78"),
        ("1234567", "1****67"),  # a landline used to come out whole: 123****4567
        ("1234", "****"),
        ("", ""),
    ],
)
def test_a_masked_phone_hides_at_least_four_digits(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    "name,masked", [("张大爷", "张*爷"), ("刘军", "刘*"), ("欧阳小明", "欧**明")]
)
def test_a_masked_name_keeps_the_first_and_last_character(name, masked):
    assert mask_name(name) == masked


@pytest.fixture
def order(personas, tree, vol):
    return orders.order_create(
        user=personas.staff_a,
        unit=tree.compound_a1,
        category="REPAIR",
        description="修水管",
        resident_name="张大爷",
        resident_phone="1234567",
    )


@pytest.mark.parametrize(
    "role,name,phone",
    [
        ("staff_a", "张大爷", "1234567"),
        ("grid_worker", "张大爷", "1234567"),
        ("auditor", "张*爷", "1****67"),
        ("county_leader", "张*爷", "1****67"),
    ],
)
def test_the_order_page_shows_the_resident_in_full_to_the_handling_roles_only(
    role, name, phone, personas, login, order
):
    page = login(getattr(personas, role)).get(reverse("volunteers:order_detail", args=[order.pk]))
    text = page.content.decode()
    assert f"{name} · " in text and phone in text
    if name != "张大爷":
        assert "张大爷" not in text and "1234567" not in text


@pytest.mark.parametrize("role,name", [("staff_a", "张大爷"), ("auditor", "张*爷")])
def test_the_order_api_masks_the_resident_for_read_only_roles(role, name, personas, order):
    client = APIClient()
    client.force_authenticate(getattr(personas, role))
    listed = client.get("/api/v1/service-orders/").json()["results"]
    one = client.get(f"/api/v1/service-orders/{order.pk}/").json()
    for row in (listed[0], one):
        assert row["resident_name"] == name and row["resident_phone"] == "1****67"

import io
from datetime import date

import openpyxl
import pytest
from django.urls import reverse

from branches.models import ExportLog
from tests.volunteers.conftest import record
from volunteers.services import activities, orders, points

pytestmark = pytest.mark.usefixtures("april_third")


def _export(client, which, fmt):
    url = reverse("volunteers:ledger_export", args=[which, fmt]) + "?year=2026"
    response = client.get(url)
    assert response.status_code == 200
    if fmt == "csv":
        return b"".join(response.streaming_content).decode("utf-8-sig")
    body = b"".join(response.streaming_content)
    return [list(r) for r in openpyxl.load_workbook(io.BytesIO(body)).active.values]


def test_a_formula_like_adjustment_reason_leaves_both_formats_as_text(personas, login, tree, vol):
    activity = record(personas.staff_a, vol.team, tree.village_a1, [(vol.member, "2")])
    activities.hours_confirm(user=personas.staff_a, attendance_ids=[activity.attendances.get().pk])
    points.points_adjust(user=personas.staff_a, volunteer=vol.member, points=-1, reason="=1+2")
    client = login(personas.staff_a)
    assert "'=1+2" in _export(client, "points", "csv")
    cells = [cell for row in _export(client, "points", "xlsx") for cell in row]
    assert "'=1+2" in cells and "=1+2" not in cells


def _order_through_its_steps(personas, tree, vol, note):
    order = orders.order_create(
        user=personas.staff_a,
        unit=tree.compound_a1,
        category="REPAIR",
        description="修水管",
        resident_name="张大爷",
        resident_phone="13700001234",
    )
    orders.order_dispatch(
        user=personas.staff_a, order=order, team=vol.team, deadline=date(2026, 4, 8)
    )
    orders.order_accept(user=vol.leader_user, order=order)
    orders.order_complete(user=vol.leader_user, order=order, note=note)
    return order


def test_the_order_steps_export_lists_each_step_in_scope_formula_safe(personas, login, tree, vol):
    order = _order_through_its_steps(personas, tree, vol, note='=HYPERLINK("http://x","已修")')
    client = login(personas.staff_a)
    lines = _export(client, "orders", "csv").splitlines()
    assert lines[0].startswith("时间,单号,单位编码,服务地点,服务类别,承接队伍,操作,原状态,新状态")
    steps = [line for line in lines[1:] if order.number in line]
    assert [line.split(",")[6] for line in steps] == ["登记", "派单", "接单", "完成"]
    assert "已派单,已接单" in steps[2] and "'=HYPERLINK" in steps[3]
    text = "\n".join(lines)
    assert "张大爷" not in text and "13700001234" not in text
    rows = _export(client, "orders", "xlsx")
    assert len(rows) == 5 and rows[4][10].startswith("'=HYPERLINK")
    assert ExportLog.objects.filter(export="VOL_ORDER_STEPS").count() == 2
    assert _export(login(personas.staff_b), "orders", "csv").count("\n") == 1


def test_the_order_queue_links_its_steps_export(personas, login, vol):
    page = login(personas.auditor).get(reverse("volunteers:order_list")).content.decode()
    assert reverse("volunteers:ledger_export", args=["orders", "csv"]) in page
    assert reverse("volunteers:ledger_export", args=["orders", "xlsx"]) in page


@pytest.mark.parametrize("which", ["hours", "points", "orders"])
def test_an_export_refuses_an_implausible_year_and_an_unknown_format(which, personas, login):
    client = login(personas.staff_a)
    url = reverse("volunteers:ledger_export", args=[which, "csv"])
    assert client.get(url, {"year": "1999"}).status_code == 404
    assert client.get(url, {"year": "2101"}).status_code == 404
    assert client.get(url, {"year": "x"}).status_code == 200  # this year
    assert client.get(reverse("volunteers:ledger_export", args=[which, "pdf"])).status_code == 404
    assert (
        client.get(reverse("volunteers:ledger_export", args=["people", "csv"])).status_code == 404
    )

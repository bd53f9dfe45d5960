import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.volunteers.conftest import record
from volunteers.models import Attendance, PointsEntry, ServiceOrder, Team
from volunteers.services import activities, orders, points, teams

pytestmark = pytest.mark.usefixtures("april_third")

ALL = [
    "admin",
    "province_leader",
    "county_leader",
    "staff_a",
    "staff_b",
    "secretary",
    "auditor",
    "grid_worker",
]


def _urls(vol, order):
    return {
        "team_list": reverse("volunteers:team_list"),
        "team_detail": reverse("volunteers:team_detail", args=[vol.team.pk]),
        "record": reverse("volunteers:activity_record", args=[vol.team.pk]),
        "hours": reverse("volunteers:hours_confirm"),
        "people": reverse("volunteers:volunteer_list"),
        "member": reverse("volunteers:volunteer_detail", args=[vol.member.pk]),
        "redeem": reverse("volunteers:points_redeem", args=[vol.member.pk]),
        "adjust": reverse("volunteers:points_adjust", args=[vol.member.pk]),
        "merchants": reverse("volunteers:merchant_list"),
        "leaderboard": reverse("volunteers:leaderboard"),
        "orders": reverse("volunteers:order_list"),
        "order_new": reverse("volunteers:order_create"),
        "order": reverse("volunteers:order_detail", args=[order.pk]),
        "hours_csv": reverse("volunteers:ledger_export", args=["hours", "csv"]),
        "points_xlsx": reverse("volunteers:ledger_export", args=["points", "xlsx"]),
        "orders_csv": reverse("volunteers:ledger_export", args=["orders", "csv"]),
        "team_new": reverse("volunteers:team_create"),
        "team_edit": reverse("volunteers:team_edit", args=[vol.team.pk]),
        "member_add": reverse("volunteers:member_add", args=[vol.team.pk]),
        "volunteer_new": reverse("volunteers:volunteer_create"),
        "volunteer_edit": reverse("volunteers:volunteer_edit", args=[vol.member.pk]),
        "merchant_new": reverse("volunteers:merchant_create"),
        "merchant_edit": reverse("volunteers:merchant_edit", args=[vol.merchant.pk]),
    }


# role -> status for the pages that differ from 200; everything else answers 200.
MATRIX = {
    "team_detail": {"staff_b": 404, "grid_worker": 404},
    "record": {
        "staff_b": 404,
        "grid_worker": 404,
        "province_leader": 403,
        "county_leader": 403,
        "auditor": 403,
    },
    "member": {"staff_b": 404},
    "redeem": {
        "staff_b": 404,
        "secretary": 403,
        "province_leader": 403,
        "county_leader": 403,
        "auditor": 403,
        "grid_worker": 403,
    },
    "adjust": {
        "staff_b": 404,
        "secretary": 403,
        "province_leader": 403,
        "county_leader": 403,
        "auditor": 403,
        "grid_worker": 403,
    },
    "order_new": {"province_leader": 403, "county_leader": 403, "auditor": 403},
    "order": {"staff_b": 404},
    # Registering and editing teams and volunteers: `can_manage_volunteers` in scope.
    "team_new": {"province_leader": 403, "county_leader": 403, "auditor": 403, "grid_worker": 403},
    "team_edit": {
        "staff_b": 404,
        "grid_worker": 404,
        "province_leader": 403,
        "county_leader": 403,
        "auditor": 403,
    },
    "member_add": {
        "staff_b": 404,
        "grid_worker": 404,
        "province_leader": 403,
        "county_leader": 403,
        "auditor": 403,
    },
    "volunteer_new": {
        "province_leader": 403,
        "county_leader": 403,
        "auditor": 403,
        "grid_worker": 403,
    },
    "volunteer_edit": {
        "staff_b": 404,
        "province_leader": 403,
        "county_leader": 403,
        "auditor": 403,
        "grid_worker": 403,
    },
    # Merchants belong to the points bank: `can_manage_points` (township staff).
    "merchant_new": {
        "secretary": 403,
        "province_leader": 403,
        "county_leader": 403,
        "auditor": 403,
        "grid_worker": 403,
    },
    "merchant_edit": {
        "staff_b": 404,
        "grid_worker": 404,
        "secretary": 403,
        "province_leader": 403,
        "county_leader": 403,
        "auditor": 403,
    },
}


@pytest.fixture
def order(personas, tree, vol):
    return orders.order_create(
        user=personas.staff_a,
        unit=tree.compound_a1,
        category="REPAIR",
        description="修水管",
        resident_name="张大爷",
        resident_phone="13700001234",
    )


@pytest.mark.parametrize("role", ALL)
def test_permission_matrix_get(role, personas, login, vol, order):
    client = login(getattr(personas, role))
    for name, url in _urls(vol, order).items():
        expected = MATRIX.get(name, {}).get(role, 200)
        assert client.get(url).status_code == expected, (role, name)


@pytest.mark.parametrize(
    "role,expected",
    [("staff_a", 302), ("secretary", 403), ("county_leader", 403), ("staff_b", 404)],
)
def test_permission_matrix_redeem_post(role, expected, personas, login, tree, vol):
    activity = record(personas.staff_a, vol.team, tree.village_a1, [(vol.member, "5")])
    activities.hours_confirm(user=personas.staff_a, attendance_ids=[activity.attendances.get().pk])
    response = login(getattr(personas, role)).post(
        reverse("volunteers:points_redeem", args=[vol.member.pk]),
        {"merchant": vol.merchant.pk, "points": 10},
    )
    assert response.status_code == expected


@pytest.mark.parametrize(
    "role,action,expected",
    [
        ("staff_a", "dispatch", 302),
        ("county_leader", "dispatch", 403),
        ("grid_worker", "cancel", 403),
        ("staff_b", "accept", 404),
        ("auditor", "cancel", 403),
    ],
)
def test_permission_matrix_order_actions(role, action, expected, personas, login, vol, order):
    url = reverse("volunteers:order_action", args=[order.pk, action])
    data = {"team": vol.team.pk, "deadline": "2026-04-10", "reason": "重复"}
    assert login(getattr(personas, role)).post(url, data).status_code == expected


def test_the_whole_flow_through_the_pages(personas, login, tree, vol, settings):
    """Staff record an activity with attendance, the leader confirms, the volunteer's points
    rise, a redemption lowers them and a second over-spend is refused with a clear message."""
    settings.VOLUNTEER_POINTS_PER_HOUR = 10
    staff = login(personas.staff_a)
    response = staff.post(
        reverse("volunteers:activity_record", args=[vol.team.pk]),
        {
            "title": "清洁家园",
            "kind": "ENVIRONMENT",
            "date": "2026-04-02",
            "start_time": "09:00",
            "end_time": "11:00",
            "place": tree.compound_a1.code,
            "people_served": "40",
            f"present_{vol.member.pk}": "on",
            f"hours_{vol.member.pk}": "2",
            f"hours_{vol.leader.pk}": "2",
        },
    )
    assert response.status_code == 302
    row = Attendance.objects.get()
    assert row.volunteer == vol.member and row.status == "PENDING"

    leader = login(vol.leader_user)
    assert "清洁家园" in leader.get(reverse("volunteers:hours_confirm")).content.decode()
    response = leader.post(reverse("volunteers:hours_confirm"), {"attendance": [row.pk]})
    assert response.status_code == 302
    assert points.balance_of(vol.member) == 20

    staff = login(personas.staff_a)
    url = reverse("volunteers:points_redeem", args=[vol.member.pk])
    assert staff.post(url, {"merchant": vol.merchant.pk, "points": 15}).status_code == 302
    response = staff.post(url, {"merchant": vol.merchant.pk, "points": 15})
    assert response.status_code == 400
    assert "积分不足：当前余额 5 分，本次需要 15 分，还差 10 分" in response.content.decode()
    assert points.balance_of(vol.member) == 5 == points.ledger_sum(vol.member)
    page = staff.get(reverse("volunteers:volunteer_detail", args=[vol.member.pk])).content.decode()
    assert "清洁家园" in page and "-15" in page


def test_an_order_from_request_to_done_through_the_pages(personas, login, tree, vol):
    client = login(personas.grid_worker)
    response = client.post(
        reverse("volunteers:order_create"),
        {
            "unit": tree.compound_a1.code,
            "category": "ELDERLY",
            "description": "陪同就医",
            "resident_name": "刘奶奶",
            "resident_phone": "13811112222",
        },
    )
    order = ServiceOrder.objects.get()
    assert response.status_code == 302
    staff = login(personas.staff_a)
    act = lambda who, action, **data: who.post(  # noqa: E731
        reverse("volunteers:order_action", args=[order.pk, action]), data
    )
    act(staff, "dispatch", team=vol.team.pk, deadline="2026-04-08")
    leader = login(vol.leader_user)
    act(leader, "accept")
    act(leader, "complete", note="已陪同")
    staff = login(personas.staff_a)
    act(staff, "rate", satisfaction="5")
    order.refresh_from_db()
    assert order.status == "DONE" and order.satisfaction == 5
    page = staff.get(reverse("volunteers:order_detail", args=[order.pk])).content.decode()
    assert "已陪同" in page and "派单" in page


def test_phones_are_masked_in_the_list(personas, login, vol):
    page = login(personas.staff_a).get(reverse("volunteers:volunteer_list")).content.decode()
    assert "139****1111" in page and "13900001111" not in page


def test_the_export_is_formula_safe_and_scoped(personas, login, tree, vol):
    from volunteers.services.teams import volunteer_create

    evil = volunteer_create(user=personas.staff_a, unit=tree.village_a1, name="王=二")
    record(
        personas.staff_a, vol.team, tree.village_a1, [(evil, "1"), (vol.member, "2")], title="宣讲"
    )
    body = b"".join(
        login(personas.staff_a)
        .get(reverse("volunteers:ledger_export", args=["hours", "csv"]) + "?year=2026")
        .streaming_content
    ).decode("utf-8-sig")
    assert body.count("\n") == 3 and "王小红" in body
    other = b"".join(
        login(personas.staff_b)
        .get(reverse("volunteers:ledger_export", args=["hours", "csv"]) + "?year=2026")
        .streaming_content
    ).decode("utf-8-sig")
    assert "王小红" not in other
    assert (
        login(personas.staff_a)
        .get(reverse("volunteers:ledger_export", args=["hours", "pdf"]))
        .status_code
        == 404
    )


@pytest.mark.parametrize(
    "name", ["team_list", "people", "orders", "leaderboard", "merchants", "hours"]
)
def test_list_pages_have_a_bounded_number_of_queries(
    name, personas, login, tree, vol, order, django_assert_max_num_queries
):
    for n in range(6):
        record(
            personas.staff_a,
            vol.team,
            tree.village_a1,
            [(vol.member, "1"), (vol.leader, "2")],
            on=date(2026, 4, 1 + n % 2),
            title=f"活动{n}",
        )
        orders.order_create(
            user=personas.staff_a,
            unit=tree.village_a1,
            category="OTHER",
            description="x",
            resident_name=f"居民{n}",
        )
    client = login(personas.staff_a)
    url = _urls(vol, order)[name]
    with django_assert_max_num_queries(14):
        assert client.get(url).status_code == 200


def test_the_earned_entry_is_unique_per_attendance(personas, tree, vol):
    activity = record(personas.staff_a, vol.team, tree.village_a1, [(vol.member, "1")])
    activities.hours_confirm(user=personas.staff_a, attendance_ids=[activity.attendances.get().pk])
    assert PointsEntry.objects.filter(kind="EARNED").count() == 1


def test_the_leaderboard_counts_confirmed_hours_of_the_month_and_the_year(
    personas, login, tree, vol
):
    from volunteers.models import YearHours

    march = record(personas.staff_a, vol.team, tree.village_a1, [(vol.member, "3")])
    april = record(
        personas.staff_a,
        vol.team,
        tree.village_a1,
        [(vol.member, "1.5"), (vol.leader, "2")],
        on=date(2026, 4, 2),
        title="清洁家园行动",
    )
    activities.hours_confirm(
        user=personas.staff_a,
        attendance_ids=[march.attendances.get().pk, april.attendances.get(volunteer=vol.member).pk],
    )  # the leader's 2 h stay pending
    assert list(YearHours.objects.values_list("volunteer__name", "hours")) == [
        ("王小红", Decimal("4.5"))
    ]

    client = login(personas.staff_a)
    year = client.get(reverse("volunteers:leaderboard") + "?period=year").context
    assert [(r["volunteer__name"], r["hours"]) for r in year["page"].object_list] == [
        ("王小红", Decimal("4.5"))
    ]
    assert [(r["team_name"], r["hours"]) for r in year["teams"]] == [("红色宣讲队", Decimal("4.5"))]
    month = client.get(reverse("volunteers:leaderboard")).context
    assert [(r["volunteer__name"], r["hours"]) for r in month["page"].object_list] == [
        ("王小红", Decimal("1.5"))
    ]
    other = login(personas.staff_b).get(reverse("volunteers:leaderboard") + "?period=year")
    assert list(other.context["page"].object_list) == [] and other.context["teams"] == []


def test_the_home_page_lists_hours_to_confirm_and_orders_to_dispatch(
    personas, login, tree, vol, order
):
    record(personas.staff_a, vol.team, tree.village_a1, [(vol.member, "2")])
    todo = {
        item.label: item.count
        for item in login(personas.staff_a).get(reverse("home")).context["todo"]
    }
    assert todo["志愿服务时长待确认"] == 1 and todo["群众点单待派单"] == 1
    assert login(personas.auditor).get(reverse("home")).context["todo"] == []


def _same_name_team_in_village_a2(personas, tree):
    return teams.team_create(
        user=personas.staff_a,
        unit=tree.village_a2,
        name="红色宣讲队",
        colour=Team.Colour.RED,
        domain="政策宣讲",
    )


def test_confirming_hours_needs_no_reason_only_returning_does(personas, login, tree, vol):
    activity = record(personas.staff_a, vol.team, tree.village_a1, [(vol.member, "2")])
    row = activity.attendances.get()
    client = login(personas.staff_a)
    url = reverse("volunteers:hours_confirm")
    page = client.get(url).content.decode()
    reason_input = re.search(r'<input[^>]*name="reason"[^>]*>', page).group()
    # A `required` reason in the same form made the browser block 确认所选.
    assert "required" not in reason_input
    assert 'id="select-all"' in page and "10 分/小时" in page

    response = client.post(url, {"attendance": [row.pk], "reject": "1", "reason": ""})
    assert "退回时请在“原因”中写明未通过的原因。" in response.content.decode()
    row.refresh_from_db()
    assert row.status == "PENDING"

    response = client.post(url, {"attendance": [row.pk], "confirm": "1", "reason": ""})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.status == "CONFIRMED"


def test_the_hours_page_tells_same_named_teams_apart_and_filters_by_team(
    personas, login, tree, vol
):
    twin = _same_name_team_in_village_a2(personas, tree)
    record(personas.staff_a, vol.team, tree.village_a1, [(vol.member, "2")], title="甲活动")
    record(personas.staff_a, twin, tree.village_a2, [], title="乙活动")
    teams.membership_add(user=personas.staff_a, team=twin, volunteer=vol.leader)
    record(personas.staff_a, twin, tree.village_a2, [(vol.leader, "1")], title="乙活动")
    client = login(personas.staff_a)
    url = reverse("volunteers:hours_confirm")
    page = client.get(url).content.decode()
    assert "建设路社区 · 红色宣讲队" in page and "西流湖村 · 红色宣讲队" in page
    assert "甲活动" in page and "乙活动" in page
    page = client.get(url, {"team": twin.pk}).content.decode()
    assert "乙活动" in page and "甲活动" not in page
    assert "西流湖村</td>" in page


def test_a_read_only_user_sees_the_pending_hours_without_actions(personas, login, tree, vol):
    activity = record(personas.staff_a, vol.team, tree.village_a1, [(vol.member, "2")])
    client = login(personas.auditor)
    url = reverse("volunteers:hours_confirm")
    page = client.get(url).content.decode()
    assert "政策宣讲进小区" in page and "没有待您确认" not in page
    assert "可以查看" in page and "不能确认或退回" in page
    assert 'name="attendance"' not in page and "确认所选" not in page
    row = activity.attendances.get()
    assert client.post(url, {"attendance": [row.pk], "confirm": "1"}).status_code == 403


def test_the_record_form_keeps_typed_hours_after_an_error(personas, login, tree, vol):
    url = reverse("volunteers:activity_record", args=[vol.team.pk])
    response = login(personas.staff_a).post(
        url,
        {
            "title": "清洁家园",
            "kind": "ENVIRONMENT",
            "date": "2026-04-02",
            "start_time": "11:00",
            "end_time": "09:00",
            "place": tree.village_a1.code,
            "people_served": "40",
            f"present_{vol.member.pk}": "on",
            f"hours_{vol.member.pk}": "3.5",
            f"hours_{vol.leader.pk}": "1.5",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "结束时间须晚于开始时间。" in page
    assert f'id="hours_{vol.member.pk}" value="3.5"' in page
    assert f'id="hours_{vol.leader.pk}" value="1.5"' in page
    assert f'id="present_{vol.member.pk}" checked' in page
    assert f'id="present_{vol.leader.pk}" checked' not in page
    assert not Attendance.objects.exists()


def test_the_record_form_proposes_the_teams_kind_and_tells_namesakes_apart(
    personas, login, tree, vol
):
    rescue = teams.team_create(
        user=personas.staff_a,
        unit=tree.village_a1,
        name="橙色应急救援志愿服务队",
        colour=Team.Colour.ORANGE,
        domain="应急救援、安全巡查",
    )
    namesake = teams.volunteer_create(
        user=personas.staff_a, unit=tree.village_a2, name="王小红", phone="13600002222"
    )
    for volunteer in (vol.member, namesake):
        teams.membership_add(user=personas.staff_a, team=rescue, volunteer=volunteer)
    url = reverse("volunteers:activity_record", args=[rescue.pk])
    page = login(personas.staff_a).get(url).content.decode()
    assert '<option value="RESCUE" selected>' in page
    assert "139****1111" in page and "136****2222" in page
    assert "锦绣小区" in page and "西流湖村" in page


@pytest.mark.parametrize(
    "colour,domain,kind",
    [
        (Team.Colour.ORANGE, "邻里互助", "RESCUE"),
        (Team.Colour.RED, "法律咨询、矛盾调解", "LEGAL_AID"),
        (Team.Colour.CYAN, "义诊、健康讲座", "CLINIC"),
    ],
)
def test_the_default_kind_follows_the_domain_then_the_colour(colour, domain, kind):
    team = Team(name="志愿服务队", colour=colour, domain=domain)
    assert activities.default_kind(team) == kind


def test_the_sub_tabs_and_dates_do_not_break_on_a_phone(personas, login, tree, vol):
    """At 390 px a shrinking tab broke 服务队 one character per line, a date as 2026-/04-02."""
    activity = record(personas.staff_a, vol.team, tree.village_a1, [(vol.member, "2")])
    activities.hours_confirm(user=personas.staff_a, attendance_ids=[activity.attendances.get().pk])
    client = login(personas.staff_a)
    page = client.get(reverse("volunteers:team_list")).content.decode()
    tabs = re.search(r'<ul class="nav nav-pills[^"]*"', page).group()
    assert "flex-nowrap" in tabs and "text-nowrap" in tabs and "overflow-x-auto" in tabs
    assert page.count('<li class="nav-item flex-shrink-0">') == 6
    page = client.get(reverse("volunteers:volunteer_detail", args=[vol.member.pk])).content.decode()
    assert re.search(r'<td class="[^"]*text-nowrap[^"]*">\d{4}-\d\d-\d\d \d\d:\d\d</td>', page)
    assert '<span class="text-nowrap">2026-03-10</span>' in page


def test_each_order_step_says_what_happened_and_the_rating_shows_its_score(
    personas, login, tree, vol, order
):
    def act(client, action, **data):
        url = reverse("volunteers:order_action", args=[order.pk, action])
        response = client.post(url, data, follow=True)
        return [str(m) for m in response.context["messages"]]

    staff = login(personas.staff_a)
    page = staff.get(reverse("volunteers:order_detail", args=[order.pk])).content.decode()
    assert "请选择队伍" in page and "---------" not in page
    said = act(staff, "dispatch", team=vol.team.pk, deadline="2026-04-08")
    assert said == [f"订单 {order.number} 已派单给建设路社区 · 红色宣讲队，完成期限 2026-04-08。"]
    leader = login(vol.leader_user)
    assert act(leader, "accept") == [f"已接单：订单 {order.number}，请在 2026-04-08 前完成。"]
    assert act(leader, "complete", note="已陪同") == [
        f"订单 {order.number} 已办结，请回访居民并评价。"
    ]
    staff = login(personas.staff_a)
    assert act(staff, "rate", satisfaction="4", note="很满意") == [
        f"订单 {order.number} 已评价 4 分。"
    ]
    page = staff.get(reverse("volunteers:order_detail", args=[order.pk])).content.decode()
    assert re.search(r"评价 <span[^>]*>4 分</span>", page)


def test_the_redemption_form_names_its_empty_merchant_choice(personas, login, vol):
    url = reverse("volunteers:points_redeem", args=[vol.member.pk])
    page = login(personas.staff_a).get(url).content.decode()
    assert '<option value="" selected>请选择商家</option>' in page
    assert "---------" not in page


def test_hours_are_written_without_a_trailing_zero_in_the_ledger_and_the_profile(
    personas, login, tree, vol
):
    activity = record(personas.staff_a, vol.team, tree.village_a1, [(vol.member, "2")])
    activities.hours_confirm(user=personas.staff_a, attendance_ids=[activity.attendances.get().pk])
    assert PointsEntry.objects.get().reason == "参加“政策宣讲进小区”2小时"
    page = login(personas.staff_a).get(reverse("volunteers:volunteer_detail", args=[vol.member.pk]))
    text = page.content.decode()
    assert "2.0" not in text and "· 2 小时 ·" in text


@pytest.mark.parametrize(
    "value,text", [(Decimal("2.0"), "2"), (Decimal("1.5"), "1.5"), (Decimal("10.0"), "10"),
                   (None, "0"), (Decimal("0.0"), "0")]
)  # fmt: skip
def test_hours_text(value, text):
    assert activities.hours_text(value) == text


def test_the_redemption_item_refuses_a_leading_formula_like_the_activity_title(
    personas, login, tree, vol
):
    activity = record(personas.staff_a, vol.team, tree.village_a1, [(vol.member, "5")])
    activities.hours_confirm(user=personas.staff_a, attendance_ids=[activity.attendances.get().pk])
    url = reverse("volunteers:points_redeem", args=[vol.member.pk])
    client = login(personas.staff_a)
    data = {"merchant": vol.merchant.pk, "points": 10, "reason": '=HYPERLINK("http://x","大米")'}
    response = client.post(url, data)
    assert response.status_code == 400
    assert "“兑换内容”不能以 = + - @ 开头" in response.content.decode()
    assert not PointsEntry.objects.filter(kind="REDEEMED").exists()
    data["reason"] = "大米一袋"
    assert client.post(url, data).status_code == 302


def test_the_order_queue_filters_by_category_and_status(personas, login, tree, vol, order):
    orders.order_create(
        user=personas.staff_a,
        unit=tree.village_a1,
        category="HEALTH",
        description="量血压",
        resident_name="刘奶奶",
    )
    orders.order_dispatch(
        user=personas.staff_a, order=order, team=vol.team, deadline=date(2026, 4, 8)
    )
    client = login(personas.staff_a)
    url = reverse("volunteers:order_list")

    def listed(**query):
        page = client.get(url, query).context["page"]
        return sorted(o.get_category_display() for o in page.object_list)

    assert listed() == ["便民维修", "健康义诊"]
    assert listed(category="HEALTH") == ["健康义诊"]
    assert listed(category="REPAIR", status="DISPATCHED") == ["便民维修"]
    assert listed(category="HEALTH", status="DISPATCHED") == []
    assert listed(category="NONSENSE") == ["便民维修", "健康义诊"]


def test_the_volunteer_list_filters_by_identity_and_state(personas, login, tree, vol):
    masses = teams.volunteer_create(user=personas.staff_a, unit=tree.village_a1, name="赵群众")
    masses.is_active = False
    masses.save()
    client = login(personas.staff_a)
    url = reverse("volunteers:volunteer_list")

    def listed(**query):
        return sorted(v.name for v in client.get(url, query).context["page"].object_list)

    assert listed() == sorted(["李队长", "王小红", "赵群众"])
    assert listed(identity="party") == sorted(["李队长", "王小红"])
    assert listed(identity="in_service") == ["王小红"]
    assert listed(identity="masses") == ["赵群众"]
    assert listed(state="active") == sorted(["李队长", "王小红"])
    assert listed(state="inactive", identity="masses") == ["赵群众"]
    assert listed(identity="bogus") == sorted(["李队长", "王小红", "赵群众"])
    assert "已注销" in client.get(url).content.decode()


def test_the_team_calendar_shows_a_months_activities_and_moves_by_month(personas, login, tree, vol):
    record(personas.staff_a, vol.team, tree.village_a1, [(vol.member, "2")], title="三月宣讲")
    april = record(
        personas.staff_a, vol.team, tree.village_a1, [], on=date(2026, 4, 2), title="四月清扫"
    )
    client = login(personas.staff_a)
    url = reverse("volunteers:team_detail", args=[vol.team.pk])
    page = client.get(url).content.decode()  # today is 2026-04-03
    assert "2026-04 活动日历" in page and "四月清扫" in page and "三月宣讲" not in page
    assert reverse("volunteers:activity_detail", args=[april.pk]) in page
    assert "?month=2026-03" in page and "?month=2026-05" not in page
    page = client.get(url, {"month": "2026-03"}).content.decode()
    assert "三月宣讲" in page and "1 条待确认" in page and "?month=2026-04" in page
    for bad in ("2026-13", "x", "2026-03-01", "99999-1", "0001-01", "9999-12"):
        assert "2026-04 活动日历" in client.get(url, {"month": bad}).content.decode()
    assert "本月没有活动记录" in client.get(url, {"month": "2025-01"}).content.decode()

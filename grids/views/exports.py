"""The grid ledger (网格台账) and the visit log as CSV/XLSX: streamed, formula-safe (the
branches writers), logged in the export log, masked like the lists."""

from datetime import date

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.utils import timezone

from branches.models import ExportLog, OrgUnit
from branches.spreadsheets import tables
from branches.views.exports import export_response
from grids.access import require_reader
from grids.masking import shown_name, shown_phone
from grids.models import CARE_LABELS, Hazard, Household, Visit

# Recorded in the export log under these names (registered with it in GridsConfig.ready).
LEDGER, VISITS, HAZARDS = "GRID_LEDGER", "GRID_VISITS", "GRID_HAZARDS"
TITLES = {LEDGER: "网格台账", VISITS: "走访记录", HAZARDS: "安全隐患台账"}
T = tables


def ledger_table(user) -> tables.Table:
    households = (
        Household.objects.visible_to(user)
        .active()
        .select_related("grid__unit", "worker")
        .order_by("grid__code", "pk")
    )

    def rows():
        for h in households.iterator(chunk_size=2000):
            yield (
                h.grid.unit.name,
                h.grid.code,
                h.grid.name,
                h.address_building,
                h.address_unit,
                h.address_room,
                shown_name(user, h.head_name),
                shown_phone(user, h.phone),
                h.member_count,
                "、".join(str(CARE_LABELS.get(t, t)) for t in h.care_tags),
                "是" if h.is_party_member_household else "否",
                h.worker.name if h.worker else "",
                h.last_visited_on.isoformat() if h.last_visited_on else "",
            )

    titles = [
        "村(社区)/小区",
        "网格编码",
        "网格名称",
        "楼栋/组",
        "单元",
        "门牌/房号",
        "户主姓名",
        "联系电话",
        "家庭人数",
        "关爱标签",
        "党员中心户",
        "联系网格员",
        "最近走访日期",
    ]
    kinds = {"家庭人数": T.NUMBER}
    return tables.Table([tables.Column(t, kinds.get(t, T.TEXT)) for t in titles], rows())


def visits_table(user, start: date, end: date) -> tables.Table:
    visits = (
        Visit.objects.visible_to(user)
        .filter(visited_on__range=(start, end))
        .select_related("grid", "household", "worker")
        .order_by("visited_on", "pk")
    )

    def rows():
        for v in visits.iterator(chunk_size=2000):
            yield (
                v.visited_on.isoformat(),
                v.grid.code,
                v.household.address,
                shown_name(user, v.household.head_name),
                v.get_purpose_display(),
                v.worker.name if v.worker else "",
                "是" if v.needs_follow_up else "否",
                v.notes,
            )

    titles = [
        "走访日期",
        "网格编码",
        "住户地址",
        "户主",
        "走访事由",
        "网格员",
        "需要跟进",
        "走访情况",
    ]
    return tables.Table([tables.Column(t) for t in titles], rows())


def hazards_table(user) -> tables.Table:
    hazards = Hazard.objects.visible_to(user).select_related("grid").order_by("found_on", "pk")
    today = timezone.localdate()

    def rows():
        for h in hazards.iterator(chunk_size=2000):
            yield (
                h.number,
                h.grid.code,
                h.place,
                h.get_kind_display(),
                h.get_risk_display(),
                h.found_on.isoformat(),
                h.deadline.isoformat(),
                h.responsible_name,
                h.get_status_display(),
                h.closed_on.isoformat() if h.closed_on else "",
                "是" if h.is_overdue_on(today) else "否",
            )

    titles = [
        "台账编号",
        "网格编码",
        "隐患位置",
        "隐患类别",
        "风险等级",
        "发现日期",
        "整改期限",
        "整改责任人",
        "状态",
        "销号日期",
        "逾期",
    ]
    return tables.Table([tables.Column(t) for t in titles], rows())


def _day(text: str, default: date) -> date:
    try:
        return date.fromisoformat(text) if text else default
    except ValueError:
        raise Http404("bad date") from None


@login_required
def grid_export(request, export):
    user = request.user
    require_reader(user)
    fmt = request.GET.get("format", "csv")
    if export not in TITLES or fmt not in ExportLog.TABLE_FORMATS:
        raise Http404("no such export")
    today = timezone.localdate()
    params = {"format": fmt}
    if export == LEDGER:
        table = ledger_table(user)
    elif export == HAZARDS:
        table = hazards_table(user)
    else:
        start = _day(request.GET.get("from", ""), today.replace(month=1, day=1))
        end = _day(request.GET.get("to", ""), today)
        params |= {"from": start.isoformat(), "to": end.isoformat()}
        table = visits_table(user, start, end)
    # The log names the exported unit: the user's jurisdiction (the root for an administrator).
    unit = user.unit or OrgUnit.objects.filter(depth=1).first()
    if unit is None:
        raise Http404("no units")
    return export_response(
        user=user,
        export=export,
        fmt=fmt,
        unit=unit,
        params=params,
        table=table,
        filename=f"{TITLES[export]}-{unit.code}-{today:%Y%m%d}",
    )

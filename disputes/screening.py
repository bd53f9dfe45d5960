"""The monthly screening table (矛盾纠纷排查化解情况表) of a township or village: cases
received in the month, by category and outcome, in one grouped query; its CSV/XLSX/PDF."""

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Exists, OuterRef, Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.models import OrgUnit
from branches.spreadsheets import tables
from disputes.models import CaseStep, DisputeCase

Status = DisputeCase.Status

# The table's columns after the category, in order.
COLUMNS = [
    ("received", "排查受理"),
    ("resolved", "化解成功"),
    ("failed", "调解未成功"),
    ("transferred", "转办"),
    ("escalated", "上交"),
    ("county", "上交县级"),
    ("open", "在办"),
    ("overdue", "逾期"),
]


def _conditions(today: date) -> dict[str, Q]:
    open_ = Q(status__in=DisputeCase.OPEN_STATUSES)
    return {
        "received": Q(),
        "resolved": Q(is_resolved=True),
        "failed": Q(status=Status.FAILED) | Q(closed_at__isnull=False, is_resolved=False),
        "transferred": ~Q(transfer_department=""),
        "escalated": Q(was_escalated=True),
        "county": Q(top_level=DisputeCase.Level.COUNTY),
        "open": open_,
        "overdue": open_ & Q(due_on__lt=today),
    }


@dataclass
class Screening:
    unit: OrgUnit
    month: date
    columns: list[str]
    rows: list[tuple[str, list[int]]]
    total: list[int]


def month_end(month: date) -> date:
    return date(month.year + 1, 1, 1) if month.month == 12 else date(month.year, month.month + 1, 1)


def screening_table(unit: OrgUnit, month: date) -> Screening:
    conditions = _conditions(timezone.localdate())
    escalated = CaseStep.objects.filter(case_id=OuterRef("pk"), action=CaseStep.Action.ESCALATE)
    rows = (
        DisputeCase.objects.under(unit)
        .filter(received_on__gte=month, received_on__lt=month_end(month))
        .annotate(was_escalated=Exists(escalated))
        .values("category")
        .annotate(**{key: Count("id", filter=condition) for key, condition in conditions.items()})
    )
    by_category = {row["category"]: row for row in rows}
    keys = [key for key, _title in COLUMNS]
    table = [
        (str(label), [by_category.get(value, {}).get(key, 0) for key in keys])
        for value, label in DisputeCase.Category.choices
    ]
    total = [sum(row[1][i] for row in table) for i in range(len(keys))]
    return Screening(unit, month, [_(title) for _key, title in COLUMNS], table, total)


def screening_export_table(screening: Screening) -> tables.Table:
    columns = [tables.Column(_("纠纷类型"))] + [
        tables.Column(title, tables.NUMBER) for title in screening.columns
    ]
    rows = [(label, *counts) for label, counts in screening.rows]
    rows.append((_("合计"), *screening.total))
    return tables.Table(columns, rows)


def screening_pdf(screening: Screening) -> bytes:
    from weasyprint import HTML  # imported on use: Pango loads only for a PDF

    html = render_to_string(
        "disputes/screening_pdf.html",
        {"screening": screening, "printed_at": timezone.localtime()},
    )
    return HTML(string=html).write_pdf()

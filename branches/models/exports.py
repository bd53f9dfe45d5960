"""The export log: who exported what, with which parameters, when, and how many rows."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from branches.models.reports import MonthlyReport, UnitScopedQuerySet
from branches.models.units import OrgUnit


class ExportLogQuerySet(UnitScopedQuerySet):
    """An entry is read by auditors and administrators only, scoped by the exported unit: an
    auditor sees every export of data inside their jurisdiction, whoever made it. Entries
    whose unit was deleted stay visible to administrators only."""

    def role_may_read(self, user) -> bool:
        return getattr(user, "can_read_export_log", False)


# The exports of the records apps (grids, disputes, volunteers), by code: their title and the
# URL name of the page they are made from (with its filters), registered in their
# AppConfig.ready (`ExportLog.register_export`); branches never imports them.
RECORD_EXPORTS: dict[str, str] = {}
RECORD_EXPORT_PAGES: dict[str, str] = {}


class ExportLog(models.Model):
    class Export(models.TextChoices):
        RATINGS = "RATINGS", _("星级评定")
        VALUES = "VALUES", _("月度填报数据")
        EVENTS = "EVENTS", _("办理记录")
        HISTORY = "HISTORY", _("变更记录")
        MONTH_SHEET = "MONTH_SHEET", _("月度填报表格")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"
        PDF = "pdf", "PDF"  # printed documents (not a table export)

    # The formats a table is exported in (CSV streamed, XLSX a workbook).
    TABLE_FORMATS = (Format.CSV, Format.XLSX)

    # The account may be deleted later; the log keeps the name it had.
    user = models.ForeignKey(
        "governance.User",
        verbose_name=_("导出人"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    user_name = models.CharField(_("导出人姓名"), max_length=150)
    export = models.CharField(_("导出内容"), max_length=20, choices=Export.choices)
    format = models.CharField(_("格式"), max_length=4, choices=Format.choices)
    unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("单位"),
        related_name="export_logs",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    unit_code = models.CharField(_("单位编码"), max_length=32)
    params = models.JSONField(_("导出参数"), default=dict)
    rows = models.PositiveIntegerField(_("行数"), default=0)
    is_complete = models.BooleanField(
        _("已完成"), default=False, help_text=_("否：导出中，或下载中途断开（行数为已生成的行）")
    )
    started_at = models.DateTimeField(_("开始时间"), default=timezone.now)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    objects = ExportLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("导出记录")
        verbose_name_plural = _("导出记录")
        ordering = ["-started_at", "-id"]
        indexes = [
            # The log page: newest first (filtered by user or export within a jurisdiction).
            models.Index(fields=["-started_at"], name="exportlog_time_idx"),
            models.Index(fields=["user", "-started_at"], name="exportlog_user_idx"),
        ]

    def __str__(self):
        return f"{self.user_name} {self.title} {self.started_at:%Y-%m-%d %H:%M}"

    @staticmethod
    def register_export(code: str, title, *, page: str = "") -> None:
        RECORD_EXPORTS[code] = title
        if page:
            RECORD_EXPORT_PAGES[code] = page

    @staticmethod
    def record_export_pages() -> list[tuple[str, str]]:
        """(title, URL name of its page) of every records-app export made from a page."""
        return [(str(RECORD_EXPORTS[code]), page) for code, page in RECORD_EXPORT_PAGES.items()]

    @classmethod
    def export_choices(cls) -> list[tuple[str, str]]:
        """Every export the log may name: branches' own, then the records apps'."""
        return [*cls.Export.choices, *RECORD_EXPORTS.items()]

    @property
    def title(self) -> str:
        return str(dict(self.export_choices()).get(self.export, self.export))

    # The parameters as the log page shows them; the stored keys stay machine-readable.
    PARAM_LABELS = {
        "period": _("月份"),
        "start": _("起始月份"),
        "end": _("截止月份"),
        "unit": _("单位编码"),
        "kind": _("星级类型"),
        "status": _("填报状态"),
        # The records apps' exports.
        "format": _("格式"),
        "year": _("年度"),
        "month": _("月份"),
        "from": _("起始日期"),
        "to": _("截止日期"),
        "category": _("类型"),
        "case_status": _("案件状态"),
        "level": _("调处层级"),
        "overdue": _("只看逾期"),
        "under": _("单位编码"),
        "received_from": _("受理日期自"),
        "received_to": _("受理日期至"),
    }
    PARAM_VALUES = {"MONTHLY": _("月度"), "ANNUAL": _("年度")}

    @property
    def params_shown(self) -> list[tuple[str, str]]:
        """(label, value) of each parameter, in Chinese where the value is a code."""
        values = {**self.PARAM_VALUES, **dict(MonthlyReport.Status.choices)}
        return [
            (str(self.PARAM_LABELS.get(key, key)), str(values.get(value, value)))
            for key, value in self.params.items()
        ]

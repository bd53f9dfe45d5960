"""The export centre's form: which export, a month range, a unit in scope, filters, format."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from branches.models import ExportLog, MonthlyReport, OrgUnit, Rating
from branches.periods import month_label
from branches.services import workflow

# The longest range one export may cover: two years of months.
MAX_MONTHS = 24
UNIT_NOT_FOUND = "unit_not_found"
UNIT_SUGGESTIONS = 500


def months_between(start, end) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


class MonthField(forms.CharField):
    """A month as YYYY-MM (what <input type="month"> sends), parsed to its first day."""

    widget = forms.TextInput(attrs={"type": "month", "class": "form-control"})

    def to_python(self, value):
        text = super().to_python(value).strip()
        if not text:
            return None
        try:
            return workflow.parse_period(text)
        except ValidationError as error:
            raise ValidationError(error.messages, code="invalid") from None


class ExportForm(forms.Form):
    export = forms.ChoiceField(
        label=_("导出内容"),
        widget=forms.RadioSelect,
        error_messages={
            "required": _("请选择要导出的内容。"),
            "invalid_choice": _("请从列表中选择要导出的内容。"),
        },
    )
    start = MonthField(
        label=_("起始月份"),
        error_messages={"required": _("请填写起始月份，例如 2026-01。")},
    )
    end = MonthField(
        label=_("截止月份"),
        error_messages={"required": _("请填写截止月份，例如 2026-03。")},
    )
    unit = forms.CharField(
        label=_("单位"),
        required=False,
        max_length=64,
        help_text=_("填写单位编码或全称，可从列表中选择；留空为您的整个管辖范围。"),
        widget=forms.TextInput(
            attrs={"class": "form-control", "list": "export-units", "autocomplete": "off"}
        ),
        error_messages={
            "max_length": _("单位编码或名称最长 %(limit_value)d 个字，请检查后重新填写。")
        },
    )
    status = forms.ChoiceField(
        label=_("填报状态"),
        required=False,
        choices=[("", _("全部状态")), *MonthlyReport.Status.choices],
        help_text=_("只用于填报数据、办理记录和变更记录；星级评定不按填报状态筛选。"),
        widget=forms.Select(attrs={"class": "form-select"}),
        error_messages={"invalid_choice": _("请从列表中选择填报状态。")},
    )
    kind = forms.ChoiceField(
        label=_("星级类型"),
        required=False,
        choices=Rating.choices,
        initial=Rating.MONTHLY,
        help_text=_("只用于星级评定：月度（每月的年初至当月进度）或年度评定。"),
        widget=forms.Select(attrs={"class": "form-select"}),
        error_messages={"invalid_choice": _("星级类型只能是“月度”或“年度”。")},
    )
    format = forms.ChoiceField(
        label=_("文件格式"),
        choices=[(f.value, f.label) for f in ExportLog.TABLE_FORMATS],
        initial=ExportLog.Format.XLSX,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("请选择文件格式（CSV 或 Excel）。"),
            "invalid_choice": _("文件格式只能是 CSV 或 Excel (XLSX)。"),
        },
    )

    def __init__(self, *args, user, allowed, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        labels = dict(ExportLog.Export.choices)
        self.fields["export"].choices = [(value, labels[value]) for value in allowed]

    def unit_suggestions(self):
        """The units the picker lists: the user's own and two levels below, down to the
        townships (a village is found by its code or name)."""
        own = self.user.unit
        deepest = min((own.level if own else OrgUnit.Level.PROVINCE) + 2, OrgUnit.Level.TOWNSHIP)
        return (
            OrgUnit.objects.visible_to(self.user)
            .filter(level__lte=deepest)
            .order_by("path")
            .values_list("code", "name")[:UNIT_SUGGESTIONS]
        )

    def clean_unit(self) -> OrgUnit:
        code = self.cleaned_data["unit"].strip()
        units = OrgUnit.objects.visible_to(self.user)
        if not code:
            own = self.user.unit
            unit = own if own is not None else units.filter(depth=1).first()
            if unit is None:
                raise ValidationError(_("您的账号没有管辖单位，无法导出，请联系系统管理员。"))
            return unit
        unit = units.filter(code=code).first()
        if unit is None:
            named = list(units.filter(name=code)[:2])
            if len(named) > 1:
                raise ValidationError(
                    _("管辖范围内有多个名为“%(name)s”的单位，请填写单位编码。") % {"name": code}
                )
            unit = named[0] if named else None
        if unit is None:
            # The same answer whether the unit exists elsewhere or not at all.
            raise ValidationError(
                _("在您的管辖范围内没有编码或名称为“%(code)s”的单位，请检查后重新填写。")
                % {"code": code},
                code=UNIT_NOT_FOUND,
            )
        return unit

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            this_month = timezone.localdate().replace(day=1)
            if start > end:
                self.add_error("end", _("截止月份不能早于起始月份，请调换或重新选择。"))
            elif months_between(start, end) > MAX_MONTHS:
                self.add_error(
                    "end",
                    _("一次最多导出 %(max)s 个月，现在选择了 %(n)s 个月，请缩小范围或分次导出。")
                    % {"max": MAX_MONTHS, "n": months_between(start, end)},
                )
            elif end > this_month:
                self.add_error(
                    "end",
                    _("截止月份不能晚于本月（%(month)s）。") % {"month": month_label(this_month)},
                )
        export = cleaned.get("export")
        if export == ExportLog.Export.RATINGS and cleaned.get("status"):
            self.add_error("status", _("星级评定不按填报状态筛选，请将“填报状态”选为“全部状态”。"))
        if not cleaned.get("kind"):
            cleaned["kind"] = Rating.MONTHLY
        return cleaned

    @property
    def unit_not_found(self) -> bool:
        return self.has_error("unit", UNIT_NOT_FOUND)

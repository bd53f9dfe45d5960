"""Forms of the monthly scorecard pages: one report's values, unlocking, and bulk review."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from branches.models import Criterion, Evidence, ReportValue
from branches.services.workflow import (
    EVIDENCE_EXTENSIONS,
    EVIDENCE_MAX_FILES,
    ValueInput,
    evidence_check,
    parse_period,
    parse_value,
)
from branches.validators import CleanTextFormMixin

Kind = Criterion.Kind
Aggregation = Criterion.Aggregation

YES, NO = "yes", "no"
# Report ids and versions are positive database integers; anything larger would overflow the
# column type in the query (OverflowError on SQLite) rather than simply match nothing.
DB_INTEGERS = range(1, 2**31)


def plain_number(number: Decimal) -> str:
    """Decimal('32.0000') -> '32', Decimal('0.5000') -> '0.5' (never '1E+1')."""
    return format(number.normalize(), "f")


def with_unit(number: Decimal, unit: str) -> str:
    """'32 学时', '90%': a figure with its unit as people write it."""
    if not unit:
        return plain_number(number)
    separator = "" if unit == "%" else " "
    return f"{plain_number(number)}{separator}{unit}"


def shown_value(criterion: Criterion, value) -> str:
    """A stored value as the page shows it: 是 / 否 / '12 人' / 未填."""
    if value is None:
        return gettext("未填")
    if isinstance(value, bool):
        return gettext("是") if value else gettext("否")
    return with_unit(value, criterion.unit)


def criterion_rule(criterion: Criterion) -> str:
    """The criterion's pass rule in words, e.g. '≥ 32 学时，全年累计（按月进度折算）'."""
    aggregation = criterion.aggregation
    if criterion.kind == Kind.BOOLEAN:
        rule = {
            Aggregation.EVERY_MONTH: gettext("每月均须为“是”"),
            Aggregation.AT_LEAST_N: gettext("至少%(n)s个月达标") % {"n": criterion.min_months},
            Aggregation.LATEST: gettext("须为“是”（以最近一次填报为准）"),
            Aggregation.METRIC: gettext("须为“是”（系统自动计算）"),
        }.get(aggregation, gettext("须为“是”"))
    else:
        comparison = (
            f"{Criterion.Comparator(criterion.comparator).label} "
            f"{with_unit(criterion.threshold, criterion.unit)}"
        )
        # A >= sum (and a >= count metric) is compared with the threshold pro-rated to the
        # months so far, which is how the engine reads it (rating.py).
        prorated = criterion.comparator == Criterion.Comparator.GTE
        how = {
            Aggregation.EVERY_MONTH: gettext("每月均须达标"),
            Aggregation.AT_LEAST_N: gettext("至少%(n)s个月达标") % {"n": criterion.min_months},
            Aggregation.SUM: gettext("全年累计（按月进度折算）")
            if prorated
            else gettext("全年累计"),
            Aggregation.AVERAGE: gettext("已填报月份的平均值"),
            Aggregation.LATEST: gettext("以最近一次填报为准"),
            Aggregation.METRIC: gettext("系统按年初至本月自动计算（按月进度折算）")
            if prorated and criterion.kind != Kind.PERCENTAGE
            else gettext("系统按年初至本月自动计算"),
        }[aggregation]
        rule = f"{comparison}，{how}"
    veto = {
        Criterion.VetoScope.STAR: gettext("；未达标即否决本星"),
        Criterion.VetoScope.ALL: gettext("；未达标即否决全部星（一票否决）"),
    }.get(criterion.veto_scope, "")
    return rule + veto


def value_field_name(code: str) -> str:
    return f"value-{code}"


def note_field_name(code: str) -> str:
    return f"note-{code}"


def warned_field_name(code: str) -> str:
    return f"warned-{code}"


CONFIRM_WARNINGS = "confirm_warnings"


def upload_field_name(code: str) -> str:
    return f"evidence-{code}"


def remove_field_name(evidence_id: int) -> str:
    return f"remove-evidence-{evidence_id}"


def replace_field_name(evidence_id: int) -> str:
    return f"replace-evidence-{evidence_id}"


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one input, cleaned one by one: a list, empty when none was chosen
    (Django's "Uploading multiple files" recipe)."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def _initial(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return YES if value else NO
    return plain_number(value)


class ReportForm(CleanTextFormMixin, forms.Form):
    """A report's manual values, notes and new evidence files, one set of fields per criterion.

    Values are checked by the workflow's `parse_value` so the page and the spreadsheet
    import give the same messages; every error sits beside its field.
    """

    # The report's version when the page was loaded: the service refuses a stale save.
    version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=DB_INTEGERS[0],
        max_value=DB_INTEGERS[-1],
        error_messages={
            "required": _("页面缺少版本信息，请重新打开填报页面。"),
            "invalid": _("页面版本信息无效，请重新打开填报页面。"),
            "min_value": _("页面版本信息无效，请重新打开填报页面。"),
            "max_value": _("页面版本信息无效，请重新打开填报页面。"),
        },
    )

    def __init__(
        self,
        data=None,
        files=None,
        *,
        criteria: list[Criterion],
        stored: dict[str, ReportValue],
        version: int,
        evidence: list[Evidence] = (),
    ):
        super().__init__(data, files)
        self.criteria = criteria
        self.stored = stored
        self.evidence = list(evidence)
        self.fields["version"].initial = version
        # The values the page warned about, and the box that confirms them (a second save).
        self.fields[CONFIRM_WARNINGS] = forms.BooleanField(
            label=_("我已核对，以上提示的数值无误，确认保存"),
            required=False,
            widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
        )
        accept = ",".join(sorted(EVIDENCE_EXTENSIONS))
        for criterion in criteria:
            row = stored.get(criterion.code)
            self.fields[value_field_name(criterion.code)] = self._value_field(
                criterion, row.value if row else None
            )
            if criterion.jump_factor is not None:
                self.fields[warned_field_name(criterion.code)] = forms.CharField(
                    required=False, widget=forms.HiddenInput
                )
            self.fields[note_field_name(criterion.code)] = forms.CharField(
                label=_("备注"),
                required=False,
                max_length=500,
                initial=row.note if row else "",
                error_messages={"max_length": _("备注最多 %(limit_value)d 字，请删减。")},
                widget=forms.TextInput(
                    attrs={
                        "class": "form-control form-control-sm",
                        "placeholder": _("备注（选填）"),
                        "aria-label": gettext("%(title)s 备注") % {"title": criterion.title},
                    }
                ),
            )
            self.fields[upload_field_name(criterion.code)] = MultipleFileField(
                label=_("上传佐证材料"),
                required=False,
                error_messages={"empty": _("所选文件是空的，请选择有内容的文件。")},
                widget=MultipleFileInput(
                    attrs={
                        "class": "form-control form-control-sm",
                        "accept": accept,
                        "aria-label": gettext("%(title)s 佐证材料") % {"title": criterion.title},
                    }
                ),
            )
        for item in self.evidence:
            self.fields[remove_field_name(item.pk)] = forms.BooleanField(
                label=_("删除"),
                required=False,
                widget=forms.CheckboxInput(
                    attrs={
                        "class": "form-check-input",
                        "aria-label": gettext("删除 %(name)s") % {"name": item.original_name},
                    }
                ),
            )
            self.fields[replace_field_name(item.pk)] = forms.FileField(
                label=_("换成"),
                required=False,
                error_messages={"empty": _("所选文件是空的，请选择有内容的文件。")},
                widget=forms.FileInput(
                    attrs={
                        "class": "form-control form-control-sm",
                        "accept": accept,
                        "aria-label": gettext("用新文件替换 %(name)s")
                        % {"name": item.original_name},
                    }
                ),
            )

    @staticmethod
    def _value_field(criterion: Criterion, value) -> forms.Field:
        label = criterion.title
        if criterion.kind == Kind.BOOLEAN:
            # Free text behind the radios: parse_value, not the field, says what is wrong.
            return forms.CharField(
                label=label,
                required=False,
                initial=_initial(value),
                widget=forms.RadioSelect(
                    choices=[(YES, _("是")), (NO, _("否"))], attrs={"class": "form-check-input"}
                ),
            )
        return forms.CharField(
            label=label,
            required=False,
            initial=_initial(value),
            widget=forms.TextInput(
                attrs={
                    "class": "form-control",
                    "inputmode": "numeric" if criterion.kind == Kind.INTEGER else "decimal",
                    "autocomplete": "off",
                    # Screen readers (and tests) find the input by the criterion it is for.
                    "aria-label": criterion.title,
                }
            ),
        )

    def is_multiline(self, name: str, field) -> bool:
        # Notes may run over lines (the API takes them so); values are one line.
        return name.startswith(note_field_name(""))

    def _invalid(self, name: str, error: ValidationError) -> None:
        self.add_error(name, error)
        widget = self.fields[name].widget
        widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()

    def clean(self):
        cleaned = super().clean()
        for criterion in self.criteria:
            name = value_field_name(criterion.code)
            if name in cleaned:
                try:
                    cleaned[name] = parse_value(criterion, cleaned[name])
                except ValidationError as error:
                    self._invalid(name, error)
            self._check_files(upload_field_name(criterion.code), criterion)
        for item in self.evidence:
            self._check_files(replace_field_name(item.pk))
        return cleaned

    def _check_files(self, name: str, criterion: Criterion | None = None) -> None:
        chosen = self.cleaned_data.get(name) or []
        uploads = chosen if isinstance(chosen, list) else [chosen]
        if criterion is not None and len(uploads) > EVIDENCE_MAX_FILES:
            self._invalid(
                name,
                ValidationError(
                    gettext("一次最多选择 %(max)s 个文件，请分批上传或合并成一个 PDF。")
                    % {"max": EVIDENCE_MAX_FILES}
                ),
            )
            return
        errors = []
        for upload in uploads:
            try:
                evidence_check(upload)
            except ValidationError as error:
                errors.extend(error.messages)
        if errors:
            self._invalid(name, ValidationError(errors))

    def values(self) -> dict[str, ValueInput]:
        """The entered values by code; a blank never stored before is not sent at all."""
        values = {}
        for criterion in self.criteria:
            value = self.cleaned_data[value_field_name(criterion.code)]
            note = self.cleaned_data[note_field_name(criterion.code)].strip()
            if value is not None or note or criterion.code in self.stored:
                values[criterion.code] = ValueInput(value, note)
        return values

    def confirmed_warnings(self) -> dict:
        """The values whose warning the person confirmed: the ones the page showed (in the
        hidden fields) when the confirm box is ticked, nothing otherwise."""
        if not self.cleaned_data.get(CONFIRM_WARNINGS):
            return {}
        confirmed = {}
        for criterion in self.criteria:
            raw = self.cleaned_data.get(warned_field_name(criterion.code))
            if not raw:
                continue
            try:
                confirmed[criterion.code] = parse_value(criterion, raw)
            except ValidationError:
                continue  # a tampered hidden field confirms nothing: the page asks again
        return confirmed

    def uploads(self) -> dict[str, list]:
        """The new files chosen in this post, by criterion code."""
        return {
            criterion.code: uploads
            for criterion in self.criteria
            if (uploads := self.cleaned_data.get(upload_field_name(criterion.code)))
        }

    def removals(self) -> list[Evidence]:
        """The stored files ticked for deletion (and given no replacement)."""
        return [
            item
            for item in self.evidence
            if self.cleaned_data.get(remove_field_name(item.pk))
            and not self.cleaned_data.get(replace_field_name(item.pk))
        ]

    def replacements(self) -> list[tuple[Evidence, object]]:
        """The stored files given a new file to take their place."""
        return [
            (item, upload)
            for item in self.evidence
            if (upload := self.cleaned_data.get(replace_field_name(item.pk)))
        ]


class UnlockForm(CleanTextFormMixin, forms.Form):
    version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=DB_INTEGERS[0],
        max_value=DB_INTEGERS[-1],
        error_messages={
            "required": _("页面缺少版本信息，请重新打开页面后再解锁。"),
            "invalid": _("页面版本信息无效，请重新打开页面后再解锁。"),
            "min_value": _("页面版本信息无效，请重新打开页面后再解锁。"),
            "max_value": _("页面版本信息无效，请重新打开页面后再解锁。"),
        },
    )
    reason = forms.CharField(
        label=_("解锁原因"),
        max_length=1000,
        error_messages={"required": _("请填写解锁原因，解锁将记入变更记录。")},
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}),
    )


class _ReportVersions(forms.Field):
    """Checked reports as 'id:version' pairs -> {id: version}."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": _("请先勾选要处理的报表。"),
        "invalid": _("所选报表无效，请刷新页面后重新勾选。"),
    }

    def to_python(self, value) -> dict[int, int]:
        pairs = {}
        for item in value or []:
            try:
                report_id, version = (int(part) for part in str(item).split(":"))
            except ValueError:
                raise ValidationError(self.error_messages["invalid"], code="invalid") from None
            if report_id not in DB_INTEGERS or version not in DB_INTEGERS:
                raise ValidationError(self.error_messages["invalid"], code="invalid")
            pairs[report_id] = version
        return pairs


class ReviewForm(CleanTextFormMixin, forms.Form):
    """Approve or return the checked reports of a township's month."""

    APPROVE, RETURN = "approve", "return"

    action = forms.ChoiceField(
        choices=[(APPROVE, _("审核通过")), (RETURN, _("退回"))],
        error_messages={"required": _("请选择“审核通过”或“退回”。")},
    )
    selected = _ReportVersions()
    reason = forms.CharField(
        label=_("退回原因"),
        required=False,
        max_length=1000,
        error_messages={
            "max_length": _("退回原因最多 %(limit_value)d 字，现在是 %(show_value)d 字。")
        },
        widget=forms.Textarea(
            attrs={
                "class": "form-control",
                "rows": 2,
                "placeholder": _("退回时必填：告诉填报人需要修改什么"),
            }
        ),
    )

    def clean(self):
        cleaned = super().clean()
        if "reason" in self.errors:
            return cleaned
        reason = cleaned.get("reason", "").strip()
        if cleaned.get("action") == self.RETURN and not reason:
            self.add_error("reason", _("退回时请填写退回原因，告诉填报人需要修改什么。"))
        if cleaned.get("action") == self.APPROVE and reason:
            # Approving would drop what was typed: the person meant one of the two.
            self.add_error(
                "reason",
                _("您填写了退回原因，却点了“审核通过”：要退回请点“退回”；要通过请先清空退回原因。"),
            )
        return cleaned


class BulkSubmitForm(forms.Form):
    """Submit the checked complete drafts of one month of a township."""

    period = forms.CharField(error_messages={"required": _("缺少月份，请刷新页面后重试。")})
    selected = _ReportVersions()

    def clean_period(self):
        return parse_period(self.cleaned_data["period"])

"""Forms of the rectification pages: open, edit, close, send back, list filters, bulk open."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from branches.models import Criterion, OrgUnit, Rectification
from branches.services import rectification as service
from branches.services.workflow import evidence_check, parse_period
from branches.validators import CleanTextFormMixin

CODE_MAX = 32
# <input type="date"> takes only ISO dates, whatever the locale's date format.
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATE_ERRORS = {"invalid": _("日期格式应为 YYYY-MM-DD，例如 2026-04-30。")}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class EvidenceFilesField(forms.FileField):
    """Several files at once, each checked like a report's evidence (type, content, size)."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        if len(files) > service.EVIDENCE_MAX_FILES:
            raise ValidationError(
                _("一次最多上传 %(max)s 个文件，请分批上传。") % {"max": service.EVIDENCE_MAX_FILES}
            )
        errors = []
        for upload in files:
            try:
                evidence_check(upload)
            except ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise ValidationError(errors)
        if self.required and not files:
            raise ValidationError(_("请选择要上传的佐证材料文件。"))
        return files


class UnitCodeField(forms.CharField):
    """A unit by its code, within the user's jurisdiction (set `user` on the form)."""

    def __init__(self, *, rated=False, **kwargs):
        self.rated = rated
        kwargs.setdefault("max_length", CODE_MAX)
        super().__init__(**kwargs)


class RectificationFieldsMixin(CleanTextFormMixin):
    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def _unit(self, name, *, rated=False):
        code = (self.cleaned_data.get(name) or "").strip()
        if not code:
            return None
        unit = OrgUnit.objects.visible_to(self.user).filter(code=code).first()
        if unit is None:
            raise ValidationError(
                _("找不到编码为“%(code)s”的单位，或它不在您的管辖范围内，请检查编码。")
                % {"code": code}
            )
        if rated and not unit.is_rated:
            raise ValidationError(_("问题清单只针对村(社区)党组织，请填写一个村(社区)的编码。"))
        return unit

    def clean_responsible_unit(self):
        return self._unit("responsible_unit")

    def clean_deadline(self):
        deadline = self.cleaned_data["deadline"]
        today = timezone.localdate()
        if deadline < today and "deadline" in self.changed_data:
            raise ValidationError(
                _("整改期限不能早于今天（%(today)s），请选择今天或以后的日期。")
                % {"today": today.isoformat()}
            )
        return deadline


class RectificationCreateForm(RectificationFieldsMixin, forms.Form):
    branch = UnitCodeField(
        label=_("支部编码"),
        help_text=_("村(社区)的单位编码"),
        error_messages={"required": _("请填写支部（村、社区）的单位编码。")},
    )
    criterion = forms.CharField(
        label=_("指标编码"),
        required=False,
        max_length=16,
        help_text=_("可选，如 EC-02；填写后，之后的重算中该指标达标即自动验证"),
    )
    period = forms.CharField(
        label=_("发现月份"), max_length=7, required=False, help_text=_("YYYY-MM，默认本月")
    )
    problem = forms.CharField(
        label=_("问题"),
        max_length=service.PROBLEM_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("请填写“问题”：要整改的是什么。")},
    )
    measure = forms.CharField(
        label=_("整改措施"),
        max_length=service.MEASURE_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    responsible_unit = UnitCodeField(
        label=_("帮扶单位编码"), required=False, help_text=_("可选：负责帮扶的单位编码")
    )
    deadline = forms.DateField(label=_("整改期限"), widget=DATE_WIDGET, error_messages=DATE_ERRORS)

    def clean_branch(self):
        return self._unit("branch", rated=True)

    def clean_period(self):
        text = (self.cleaned_data.get("period") or "").strip()
        return parse_period(text) if text else timezone.localdate().replace(day=1)

    def clean(self):
        cleaned = super().clean()
        code = (cleaned.get("criterion") or "").strip()
        branch, period = cleaned.get("branch"), cleaned.get("period")
        cleaned["criterion"] = None
        if code and branch and period:
            cleaned["criterion"] = Criterion.objects.filter(
                code=code,
                criteria_set__year=period.year,
                criteria_set__area_type=branch.area_type,
                criteria_set__is_active=True,
            ).first()
            if cleaned["criterion"] is None:
                self.add_error(
                    "criterion",
                    _("%(year)s年的指标体系中没有编码为“%(code)s”的指标，请检查或留空。")
                    % {"year": period.year, "code": code},
                )
        return cleaned


class RectificationEditForm(RectificationFieldsMixin, forms.ModelForm):
    responsible_unit = UnitCodeField(
        label=_("帮扶单位编码"), required=False, help_text=_("可选：负责帮扶的单位编码")
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)

    class Meta:
        model = Rectification
        fields = ["problem", "measure", "deadline"]
        widgets = {
            "problem": forms.Textarea(attrs={"rows": 3}),
            "measure": forms.Textarea(attrs={"rows": 3}),
            "deadline": DATE_WIDGET,
        }
        error_messages = {
            "problem": {"required": _("请填写“问题”：要整改的是什么。")},
            "deadline": {"required": _("请选择整改期限。"), **DATE_ERRORS},
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound and self.instance.responsible_unit_id:
            self.initial["responsible_unit"] = self.instance.responsible_unit.code
        self.initial.setdefault("version", self.instance.version)


class CloseForm(CleanTextFormMixin, forms.Form):
    note = forms.CharField(
        label=_("整改情况说明"),
        max_length=service.NOTE_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("没有上传佐证材料时必填"),
    )
    files = EvidenceFilesField(label=_("佐证材料"), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)


class EvidenceForm(forms.Form):
    files = EvidenceFilesField(label=_("佐证材料"))


class ReasonForm(CleanTextFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("退回原因"),
        max_length=service.NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("请写明退回原因，将告知整改责任人。")},
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)


STILL_FAILING = "STILL_FAILING"
STATUS_FILTERS = [
    *Rectification.Status.choices,
    (STILL_FAILING, _("已整改但仍未达标")),
]


class ListFilterForm(CleanTextFormMixin, forms.Form):
    status = forms.ChoiceField(
        label=_("状态"), choices=[("", _("全部")), *STATUS_FILTERS], required=False
    )
    under = forms.CharField(label=_("单位编码"), max_length=CODE_MAX, required=False)
    criterion = forms.CharField(label=_("指标编码"), max_length=16, required=False)
    deadline_from = forms.DateField(
        label=_("期限自"), required=False, widget=DATE_WIDGET, error_messages=DATE_ERRORS
    )
    deadline_to = forms.DateField(
        label=_("期限至"), required=False, widget=DATE_WIDGET, error_messages=DATE_ERRORS
    )


class BulkForm(forms.Form):
    deadline = forms.DateField(label=_("整改期限"), widget=DATE_WIDGET, error_messages=DATE_ERRORS)
    selected = forms.TypedMultipleChoiceField(
        label=_("支部"), coerce=int, choices=(),
        error_messages={"required": _("请至少选择一个支部。")},
    )  # fmt: skip

    def __init__(self, *args, branches, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["selected"].choices = [(b.pk, b.name) for b in branches]

    def clean_deadline(self):
        deadline = self.cleaned_data["deadline"]
        if deadline < timezone.localdate():
            raise ValidationError(_("整改期限不能早于今天，请选择今天或以后的日期。"))
        return deadline

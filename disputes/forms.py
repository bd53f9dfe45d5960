"""Forms of the dispute pages: the ledger filters, a new case, one form per workflow action,
a mediation team."""

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from branches.forms.rectification import EvidenceFilesField
from branches.models import OrgUnit, jurisdiction_path
from branches.validators import CleanTextFormMixin
from disputes.models import (
    CaseStep,
    DisputeCase,
    MediationSession,
    MediationTeam,
    Party,
    ReturnVisit,
)
from governance.models import User

CODE_MAX = 32
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")  # ISO, whatever the locale
DATE_ERRORS = {"invalid": _("日期格式应为 YYYY-MM-DD，例如 2026-04-30。")}
PARTY_ROWS = 3
A = CaseStep.Action


class StyledMixin:
    """Bootstrap classes on every widget (form-select for choices)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style()

    def style(self):
        for field in self.fields.values():
            if isinstance(field.widget, forms.CheckboxInput | forms.HiddenInput):
                continue
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)


def _blank(choices):
    return [("", _("全部")), *list(choices)]


class LedgerFilterForm(StyledMixin, forms.Form):
    status = forms.ChoiceField(
        label=_("状态"), choices=_blank(DisputeCase.Status.choices), required=False
    )
    category = forms.ChoiceField(
        label=_("纠纷类型"), choices=_blank(DisputeCase.Category.choices), required=False
    )
    level = forms.TypedChoiceField(
        label=_("调处层级"),
        choices=_blank(DisputeCase.Level.choices),
        coerce=int,
        empty_value=None,
        required=False,
    )
    overdue = forms.BooleanField(label=_("只看逾期"), required=False)
    under = forms.CharField(
        label=_("单位编码"),
        max_length=CODE_MAX,
        required=False,
        help_text=_("只看该单位及其下级的案件"),
    )
    received_from = forms.DateField(
        label=_("受理日期自"), required=False, widget=DATE_WIDGET, error_messages=DATE_ERRORS
    )
    received_to = forms.DateField(
        label=_("受理日期至"), required=False, widget=DATE_WIDGET, error_messages=DATE_ERRORS
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("received_from"), data.get("received_to")
        if start and end and start > end:
            raise ValidationError(_("“受理日期自”不能晚于“受理日期至”，请调换两个日期。"))
        return data


class UnitCodeMixin:
    def unit_by_code(self, code: str) -> OrgUnit:
        code = (code or "").strip()
        unit = OrgUnit.objects.visible_to(self.user).filter(code=code).first() if code else None
        if unit is None:
            raise ValidationError(
                _("找不到编码为“%(code)s”的单位，或它不在您的管辖范围内，请检查编码。")
                % {"code": code}
            )
        return unit


class CaseCreateForm(StyledMixin, UnitCodeMixin, CleanTextFormMixin, forms.Form):
    unit = forms.CharField(
        label=_("发生地(单位编码)"),
        max_length=CODE_MAX,
        help_text=_("纠纷发生的村(社区)、小区或楼栋的编码"),
    )
    category = forms.ChoiceField(label=_("纠纷类型"), choices=DisputeCase.Category.choices)
    source = forms.ChoiceField(label=_("来源"), choices=DisputeCase.Source.choices)
    risk = forms.ChoiceField(label=_("风险等级"), choices=DisputeCase.Risk.choices)
    received_on = forms.DateField(
        label=_("受理日期"), widget=DATE_WIDGET, error_messages=DATE_ERRORS
    )
    handling_level = forms.TypedChoiceField(
        label=_("调处层级"),
        choices=_blank(DisputeCase.Level.choices),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_("留空则由发生地所在层级调处"),
    )
    summary = forms.CharField(
        label=_("纠纷概要"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )
    # The number of the grid event the case is turned from (转为纠纷案件), if any.
    event = forms.CharField(max_length=20, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        levels = self.fields["handling_level"]
        levels.choices = [("", _("按发生地")), *DisputeCase.Level.choices]
        for i in range(PARTY_ROWS):
            required = i == 0
            self.fields[f"party{i}_name"] = forms.CharField(
                label=_("当事人%(n)s 姓名") % {"n": i + 1}, max_length=100, required=required
            )
            self.fields[f"party{i}_role"] = forms.ChoiceField(
                label=_("当事人%(n)s 身份") % {"n": i + 1},
                choices=Party.Role.choices,
                initial=Party.Role.APPLICANT if i == 0 else Party.Role.RESPONDENT,
            )
            self.fields[f"party{i}_phone"] = forms.CharField(
                label=_("当事人%(n)s 电话") % {"n": i + 1}, max_length=20, required=False
            )
        self.style()

    def clean_unit(self):
        return self.unit_by_code(self.cleaned_data["unit"])

    def party_rows(self):
        return [
            (self[f"party{i}_name"], self[f"party{i}_role"], self[f"party{i}_phone"])
            for i in range(PARTY_ROWS)
        ]

    def parties(self) -> list[dict]:
        data = self.cleaned_data
        return [
            {
                "name": data[f"party{i}_name"],
                "role": data[f"party{i}_role"],
                "phone": data[f"party{i}_phone"],
            }
            for i in range(PARTY_ROWS)
            if data.get(f"party{i}_name")
        ]


class ActionForm(StyledMixin, CleanTextFormMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)

    def __init__(self, *args, case=None, user=None, **kwargs):
        self.case, self.user = case, user
        super().__init__(*args, **kwargs)


class NoteForm(ActionForm):
    note = forms.CharField(
        label=_("说明"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class FailForm(ActionForm):
    note = forms.CharField(
        label=_("未成功原因"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class AssignForm(ActionForm):
    mediator = forms.ModelChoiceField(
        label=_("调解员"), queryset=User.objects.none(), required=False
    )
    team = forms.ModelChoiceField(
        label=_("调解组织"), queryset=MediationTeam.objects.none(), required=False
    )
    note = forms.CharField(label=_("说明"), max_length=2000, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        unit = self.case.handling_unit
        # People and teams of the handling unit's subtree and of the units above it up to
        # the township, inside the user's jurisdiction (a village case may go to the
        # township's 调委会 or staff; a village without accounts still has someone to pick).
        path = jurisdiction_path(self.user) if self.user is not None else None
        above = [
            u.pk
            for u in OrgUnit.objects.get_ancestors(unit)
            if u.level >= OrgUnit.Level.TOWNSHIP and path is not None and u.path.startswith(path)
        ]
        self.fields["mediator"].queryset = (
            User.objects.filter(is_active=True)
            .exclude(role__in=(User.Role.AUDITOR, User.Role.LEADER))
            .filter(Q(unit__path__startswith=unit.path) | Q(unit__in=above))
            .select_related("unit")
            .order_by("unit__path", "username")
        )
        self.fields["mediator"].label_from_instance = lambda person: person.choice_label
        self.fields["team"].queryset = (
            MediationTeam.objects.filter(is_active=True)
            .filter(Q(unit__path__startswith=unit.path) | Q(unit__in=above))
            .select_related("unit")
            .order_by("unit__path", "name")
        )
        self.fields["team"].label_from_instance = lambda team: f"{team} · {team.unit.name}"

    def clean(self):
        data = super().clean()
        if not data.get("mediator") and not data.get("team"):
            raise ValidationError(_("请选择调解员或调解组织（至少一项）。"))
        return data


class SessionForm(ActionForm):
    held_on = forms.DateField(label=_("调解日期"), widget=DATE_WIDGET, error_messages=DATE_ERRORS)
    place = forms.CharField(label=_("地点"), max_length=100)
    participants = forms.CharField(
        label=_("参加人员"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )
    record = forms.CharField(
        label=_("调解记录"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )
    result = forms.ChoiceField(label=_("结果"), choices=MediationSession.Result.choices)
    conclude = forms.BooleanField(
        label=_("同时记录调解结果"),
        required=False,
        help_text=_("达成协议即记为调解成功，未达成协议即记为调解未成功；继续调解不受影响。"),
    )


class TransferForm(ActionForm):
    department = forms.CharField(label=_("转办部门"), max_length=100)
    note = forms.CharField(label=_("说明"), max_length=2000, required=False)


class EscalateForm(ActionForm):
    reason = forms.CharField(
        label=_("上交理由"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class CloseForm(ActionForm):
    outcome = forms.ChoiceField(label=_("结案方式"), choices=DisputeCase.Outcome.choices)
    note = forms.CharField(
        label=_("结案说明"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from disputes.workflow import CLOSE_OUTCOMES

        allowed = CLOSE_OUTCOMES.get(self.case.status) if self.case else None
        if allowed:
            self.fields["outcome"].choices = [(o, DisputeCase.Outcome(o).label) for o in allowed]


class VisitForm(ActionForm):
    satisfaction = forms.ChoiceField(label=_("满意度"), choices=ReturnVisit.Satisfaction.choices)
    visited_on = forms.DateField(
        label=_("回访日期"), widget=DATE_WIDGET, error_messages=DATE_ERRORS
    )
    note = forms.CharField(
        label=_("回访情况"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ReopenForm(ActionForm):
    reason = forms.CharField(
        label=_("重新办理原因"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class AttachForm(StyledMixin, CleanTextFormMixin, forms.Form):
    # Each file checked like a report's evidence (type, content, size).
    files = EvidenceFilesField(label=_("附件"))
    note = forms.CharField(label=_("说明"), max_length=2000, required=False)


# One form per action; the case page shows those the user may take now.
ACTION_FORMS = {
    A.ASSIGN: AssignForm,
    A.START: NoteForm,
    A.SESSION: SessionForm,
    A.SUCCEED: NoteForm,
    A.FAIL: FailForm,
    A.TRANSFER: TransferForm,
    A.ESCALATE: EscalateForm,
    A.CLOSE: CloseForm,
    A.VISIT: VisitForm,
    A.REOPEN: ReopenForm,
}


class TeamForm(StyledMixin, UnitCodeMixin, CleanTextFormMixin, forms.Form):
    unit = forms.CharField(label=_("所属单位编码"), max_length=CODE_MAX)
    name = forms.CharField(label=_("名称"), max_length=100)
    kind = forms.ChoiceField(label=_("类型"), choices=MediationTeam.Kind.choices)
    members = forms.ModelMultipleChoiceField(
        label=_("成员（有账号的）"),
        queryset=User.objects.none(),
        required=False,
        help_text=_("被指派给本组织的案件会通知这些成员，并列入他们的“我的调解案件”。"),
    )
    member_names = forms.CharField(
        label=_("其他成员（每行一人）"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("没有账号的成员，如老党员、乡贤。"),
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        path = jurisdiction_path(user)
        people = User.objects.filter(is_active=True, unit__isnull=False)
        if path is None:
            people = people.none()
        elif path:
            people = people.filter(unit__path__startswith=path)
        self.fields["members"].queryset = people.select_related("unit").order_by(
            "unit__path", "username"
        )
        self.fields["members"].label_from_instance = lambda person: person.choice_label

    def clean_unit(self):
        return self.unit_by_code(self.cleaned_data["unit"])


class ScreeningForm(StyledMixin, forms.Form):
    township = forms.CharField(label=_("乡镇(街道)编码"), max_length=CODE_MAX, required=False)
    month = forms.RegexField(
        label=_("月份"),
        regex=r"^\d{4}-(0[1-9]|1[0-2])$",
        required=False,
        help_text=_("不填则为上一个已结束的月份。"),
        error_messages={"invalid": _("月份格式应为 YYYY-MM，例如 2026-03。")},
        widget=forms.TextInput(attrs={"type": "month"}),
    )

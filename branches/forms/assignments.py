"""The 包联 forms (assign a leader, record a visit); the services hold the rules."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from branches.models import OrgUnit, jurisdiction_path
from branches.services.assignments import TEXT_LIMIT, YEAR_MAX, YEAR_MIN
from branches.validators import CleanTextFormMixin


def _styled(form):
    for field in form.fields.values():
        css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
        field.widget.attrs.setdefault("class", css)


class AssignmentForm(CleanTextFormMixin, forms.Form):
    leader = forms.CharField(
        label=_("包联领导（用户名）"),
        max_length=150,
        help_text=_("党委/组织部领导的登录用户名，如 demo_xian。"),
        error_messages={"required": _("请填写包联领导的用户名。")},
    )
    branch = forms.CharField(
        label=_("支部编码"),
        max_length=32,
        help_text=_("村(社区)的单位编码，须在您和该领导的管辖范围内。"),
        error_messages={"required": _("请填写要包联的村(社区)编码。")},
    )
    year = forms.IntegerField(
        label=_("年度"),
        min_value=YEAR_MIN,
        max_value=YEAR_MAX,
        error_messages={
            "required": _("请填写年度，例如 2026。"),
            "invalid": _("年度请填写四位数字，例如 2026。"),
            "min_value": _("年度不能早于 %(limit_value)s 年。"),
            "max_value": _("年度不能晚于 %(limit_value)s 年。"),
        },
    )
    note = forms.CharField(
        label=_("备注"), required=False, max_length=TEXT_LIMIT, widget=forms.Textarea({"rows": 2})
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["year"].initial = timezone.localdate().year
        _styled(self)

    def clean_leader(self):
        username = self.cleaned_data["leader"].strip()
        scope = jurisdiction_path(self.user) or ""
        users = get_user_model().objects.select_related("unit").filter(username=username)
        if scope:
            users = users.filter(unit__path__startswith=scope)
        leader = users.first()
        if leader is None:
            raise forms.ValidationError(
                _("找不到用户名为“%(name)s”的用户，或该用户不在您的管辖范围内，请检查用户名。"),
                params={"name": username},
            )
        return leader

    def clean_branch(self):
        code = self.cleaned_data["branch"].strip()
        branch = OrgUnit.objects.visible_to(self.user).filter(code=code).first()
        if branch is None:
            raise forms.ValidationError(
                _("找不到编码为“%(code)s”的单位，或它不在您的管辖范围内，请检查编码。"),
                params={"code": code},
            )
        return branch


class VisitForm(CleanTextFormMixin, forms.Form):
    visited_on = forms.DateField(
        label=_("走访日期"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": _("请填写走访日期。"),
            "invalid": _("日期格式应为 年-月-日，例如 2026-03-15。"),
        },
    )
    findings = forms.CharField(
        label=_("发现的问题"),
        max_length=TEXT_LIMIT,
        widget=forms.Textarea({"rows": 3}),
        error_messages={"required": _("请填写走访中发现的问题或了解到的情况。")},
    )
    decisions = forms.CharField(
        label=_("议定事项"),
        max_length=TEXT_LIMIT,
        widget=forms.Textarea({"rows": 3}),
        error_messages={"required": _("请填写议定事项（没有时写“无”）。")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["visited_on"].initial = timezone.localdate()
        _styled(self)

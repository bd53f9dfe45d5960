"""Forms of the volunteers pages; the services hold the rules and say what is wrong."""

from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from branches.models import OrgUnit
from branches.validators import CleanTextFormMixin
from volunteers.models import Activity, Merchant, ServiceOrder, Team, Volunteer
from volunteers.services.activities import PHOTOS_MAX, photo_check
from volunteers.services.points import POINTS_MAX
from volunteers.services.teams import branch_path

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")  # ISO, whatever the locale
TIME_WIDGET = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
DATE_ERRORS = {"invalid": _("日期格式应为 YYYY-MM-DD，例如 2026-04-30。")}


def styled(form):
    suggestions = None
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, UnitCodeInput) and getattr(form, "user", None) is not None:
            if suggestions is None:
                suggestions = unit_suggestions(form.user)
            widget.units = suggestions
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select"
        else:
            css = "form-control"
        widget.attrs.setdefault("class", css)
    return form


def add_service_error(form, error: ValidationError) -> None:
    """A service's refusal on the form: beside the field it names, else above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        if len(files) > PHOTOS_MAX:
            raise ValidationError(_("一次最多上传 %(max)s 张照片。") % {"max": PHOTOS_MAX})
        errors = []
        for upload in files:
            try:
                photo_check(upload)
            except ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise ValidationError(errors)
        return files


# Suggestions offered under a unit-code box: a township's villages and compounds fit; a
# province's do not, and there the code is typed.
UNIT_SUGGESTIONS_MAX = 300


class UnitCodeInput(forms.TextInput):
    """A text box for a unit code with the units of the user's jurisdiction suggested
    (a datalist: pick by name, or type the code)."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.units = []

    def render(self, name, value, attrs=None, renderer=None):
        if not self.units:
            return super().render(name, value, attrs, renderer)
        list_id = f"{(attrs or {}).get('id', name)}-units"
        html = super().render(name, value, {**(attrs or {}), "list": list_id}, renderer)
        options = format_html_join(
            "", '<option value="{}">{}</option>', ((code, label) for code, label in self.units)
        )
        return html + format_html('<datalist id="{}">{}</datalist>', list_id, options)


class UnitCodeField(forms.CharField):
    widget = UnitCodeInput

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)


def unit_suggestions(user) -> list[tuple[str, str]]:
    """(code, name) of the villages, compounds and buildings the user may pick, when few."""
    units = (
        OrgUnit.objects.visible_to(user)
        .filter(level__gte=OrgUnit.Level.VILLAGE)
        .order_by("path")
        .values_list("code", "name")[: UNIT_SUGGESTIONS_MAX + 1]
    )
    units = list(units)
    return units if len(units) <= UNIT_SUGGESTIONS_MAX else []


def unit_in_scope(user, code: str) -> OrgUnit:
    unit = OrgUnit.objects.visible_to(user).filter(code=code.strip()).first()
    if unit is None or unit.level < OrgUnit.Level.VILLAGE:
        raise ValidationError(
            _("找不到编码为“%(code)s”的村(社区)、小区或楼栋，或它不在您的管辖范围内。")
            % {"code": code}
        )
    return unit


class ActivityForm(CleanTextFormMixin, forms.Form):
    title = forms.CharField(label=_("活动名称"), max_length=100)
    kind = forms.ChoiceField(label=_("活动类型"), choices=Activity.Kind.choices)
    date = forms.DateField(label=_("日期"), widget=DATE_WIDGET, error_messages=DATE_ERRORS)
    start_time = forms.TimeField(label=_("开始时间"), widget=TIME_WIDGET)
    end_time = forms.TimeField(label=_("结束时间"), widget=TIME_WIDGET)
    place = UnitCodeField(
        label=_("活动地点（单位编码）"), help_text=_("村(社区)、小区或楼栋的编码")
    )
    people_served = forms.IntegerField(label=_("服务人数"), min_value=0, max_value=100_000)
    description = forms.CharField(
        label=_("活动内容"), max_length=2000, required=False, widget=forms.Textarea({"rows": 3})
    )
    photos = PhotosField(label=_("活动照片（jpg/png，最多 9 张）"), required=False)

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        styled(self)

    def clean_place(self):
        return unit_in_scope(self.user, self.cleaned_data["place"])

    def clean(self):
        data = super().clean()
        if (
            data.get("start_time")
            and data.get("end_time")
            and data["end_time"] <= data["start_time"]
        ):
            self.add_error("end_time", _("结束时间须晚于开始时间。"))
        return data


class ReasonForm(CleanTextFormMixin, forms.Form):
    reason = forms.CharField(label=_("原因"), max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        styled(self)


class RejectForm(ReasonForm):
    """The reason to return hours; it shares a form with 确认所选, which needs none, so the
    page carries no `required` (the browser would block confirming) and the view checks it."""

    reason = forms.CharField(
        label=_("原因"), max_length=200, help_text=_("退回时必填，确认时不用填写")
    )
    use_required_attribute = False


class RedeemForm(CleanTextFormMixin, forms.Form):
    merchant = forms.ModelChoiceField(
        label=_("爱心商家"), queryset=Merchant.objects.none(), empty_label=_("请选择商家")
    )
    points = forms.IntegerField(label=_("兑换积分"), min_value=1, max_value=POINTS_MAX)
    reason = forms.CharField(label=_("兑换内容"), max_length=200, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["merchant"].queryset = Merchant.objects.visible_to(user).filter(is_active=True)
        styled(self)


class AdjustForm(CleanTextFormMixin, forms.Form):
    points = forms.IntegerField(
        label=_("调整积分"), min_value=-POINTS_MAX, max_value=POINTS_MAX,
        help_text=_("增加填正数，扣减填负数"),
    )  # fmt: skip
    reason = forms.CharField(label=_("调整原因"), max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        styled(self)


class OrderForm(CleanTextFormMixin, forms.Form):
    name_fields = ("resident_name",)
    unit = UnitCodeField(label=_("服务地点（单位编码）"))
    category = forms.ChoiceField(label=_("服务类别"), choices=ServiceOrder.Category.choices)
    description = forms.CharField(
        label=_("需求描述"), max_length=1000, widget=forms.Textarea({"rows": 3})
    )
    resident_name = forms.CharField(label=_("居民姓名"), max_length=50)
    resident_phone = forms.CharField(label=_("联系电话"), max_length=20, required=False)
    wanted_on = forms.DateField(
        label=_("期望服务日期"), widget=DATE_WIDGET, required=False, error_messages=DATE_ERRORS
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        styled(self)

    def clean_unit(self):
        return unit_in_scope(self.user, self.cleaned_data["unit"])


class DispatchForm(forms.Form):
    team = forms.ModelChoiceField(
        label=_("承接队伍"), queryset=Team.objects.none(), empty_label=_("请选择队伍")
    )
    deadline = forms.DateField(label=_("完成期限"), widget=DATE_WIDGET, error_messages=DATE_ERRORS)

    def __init__(self, *args, user, order, **kwargs):
        super().__init__(*args, **kwargs)
        # The teams of the order's township (a neighbouring branch's team may take it).
        township_path = order.unit.path[: OrgUnit.Level.TOWNSHIP * OrgUnit.steplen]
        self.fields["team"].queryset = (
            Team.objects.visible_to(user)
            .active()
            .filter(unit__path__startswith=township_path)
            .select_related("unit")
        )
        self.fields["team"].label_from_instance = lambda t: f"{t.unit.name} · {t.name}"
        self.initial.setdefault("deadline", timezone.localdate() + timedelta(days=7))
        styled(self)


class NoteForm(CleanTextFormMixin, forms.Form):
    note = forms.CharField(label=_("说明"), max_length=500, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        styled(self)


class RateForm(CleanTextFormMixin, forms.Form):
    satisfaction = forms.TypedChoiceField(
        label=_("居民满意度"),
        coerce=int,
        choices=[(n, f"{n} 分") for n in range(5, 0, -1)],
    )
    note = forms.CharField(label=_("居民意见"), max_length=500, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        styled(self)


class OrderFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("", _("全部")), *ServiceOrder.Status.choices, ("OVERDUE", _("逾期"))],
    )
    category = forms.ChoiceField(
        label=_("服务类别"),
        required=False,
        choices=[("", _("全部")), *ServiceOrder.Category.choices],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        styled(self)


class SearchForm(CleanTextFormMixin, forms.Form):
    IDENTITIES = {
        "party": {"is_party_member": True},
        "in_service": {"is_in_service_member": True},
        "masses": {"is_party_member": False},
    }

    q = forms.CharField(label=_("姓名"), max_length=50, required=False)
    identity = forms.ChoiceField(
        label=_("身份"),
        required=False,
        choices=[
            ("", _("全部")),
            ("party", _("党员")),
            ("in_service", _("在职党员报到")),
            ("masses", _("群众")),
        ],
    )
    state = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("", _("全部")), ("active", _("在册")), ("inactive", _("已注销"))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        styled(self)


def say_what_is_required(form):
    """A missing value names its field (请填写“姓名”, 请选择“颜色”) unless the field says more."""
    generic = forms.Field.default_error_messages["required"]
    for field in form.fields.values():
        if field.error_messages.get("required") != generic:
            continue
        if isinstance(field.widget, forms.Select):
            field.error_messages["required"] = _("请选择“%(field)s”。") % {"field": field.label}
        else:
            field.error_messages["required"] = _("请填写“%(field)s”。") % {"field": field.label}
    return form


def _volunteer_label(volunteer) -> str:
    return f"{volunteer.name} · {volunteer.unit.name}"


class TeamForm(CleanTextFormMixin, forms.Form):
    """A new team (with its unit) or an existing one (`team`: the unit stays, the active flag
    shows). The leader is picked from the active volunteers of the team's branch when it is
    known, else from those of the user's jurisdiction; the service checks the branch."""

    unit = UnitCodeField(label=_("所属单位（单位编码）"), help_text=_("村(社区)、小区或楼栋的编码"))
    name = forms.CharField(label=_("队伍名称"), max_length=100)
    colour = forms.ChoiceField(
        label=_("颜色"),
        choices=[("", _("请选择颜色")), *Team.Colour.choices],
        error_messages={"required": _("请选择队伍颜色。")},
    )
    domain = forms.CharField(
        label=_("服务领域"), max_length=100, help_text=_("例如：政策宣讲、应急救援、环境卫生")
    )
    leader = forms.ModelChoiceField(
        label=_("队长"),
        queryset=Volunteer.objects.none(),
        required=False,
        empty_label=_("暂不指定"),
        help_text=_("队长自动成为队员"),
        error_messages={"invalid_choice": _("请从列表中选择本村(社区)在册的志愿者作队长。")},
    )
    is_active = forms.BooleanField(
        label=_("在册"), required=False, help_text=_("取消勾选即解散队伍，记为今天解散")
    )

    def __init__(self, *args, user, team=None, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        leaders = Volunteer.objects.visible_to(user).filter(is_active=True)
        if team is None:
            del self.fields["is_active"]
        else:
            del self.fields["unit"]
            leaders = leaders.filter(unit__path__startswith=branch_path(team.unit))
        self.fields["leader"].queryset = leaders.select_related("unit").order_by(
            "unit__path", "name", "id"
        )
        self.fields["leader"].label_from_instance = _volunteer_label
        say_what_is_required(styled(self))

    def clean_unit(self):
        return unit_in_scope(self.user, self.cleaned_data["unit"])


class VolunteerForm(CleanTextFormMixin, forms.Form):
    """A volunteer's registration or profile; no ID numbers are kept."""

    name_fields = ("name",)
    unit = UnitCodeField(label=_("所属单位（单位编码）"), help_text=_("村(社区)、小区或楼栋的编码"))
    name = forms.CharField(label=_("姓名"), max_length=50)
    phone = forms.CharField(
        label=_("手机号"), max_length=20, required=False, help_text=_("7 到 15 位数字")
    )
    is_party_member = forms.BooleanField(label=_("党员"), required=False)
    is_in_service_member = forms.BooleanField(
        label=_("在职党员报到"),
        required=False,
        help_text=_("在其他单位工作、到居住地报到服务的党员"),
    )
    skills = forms.CharField(
        label=_("特长"), max_length=200, required=False, help_text=_("例如：理发、维修家电")
    )
    joined_on = forms.DateField(label=_("注册日期"), widget=DATE_WIDGET, error_messages=DATE_ERRORS)
    is_active = forms.BooleanField(
        label=_("在册"), required=False, help_text=_("取消勾选即注销，服务记录和积分保留")
    )

    def __init__(self, *args, user, volunteer=None, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        if volunteer is None:
            del self.fields["is_active"]
        say_what_is_required(styled(self))

    def clean_unit(self):
        return unit_in_scope(self.user, self.cleaned_data["unit"])

    def clean_joined_on(self):
        joined_on = self.cleaned_data["joined_on"]
        if joined_on > timezone.localdate():
            raise ValidationError(_("注册日期不能晚于今天。"))
        return joined_on


class MemberAddForm(forms.Form):
    volunteer = forms.ModelChoiceField(
        label=_("志愿者"),
        queryset=Volunteer.objects.none(),
        empty_label=_("请选择志愿者"),
        error_messages={
            "required": _("请选择要加入队伍的志愿者。"),
            "invalid_choice": _("请从列表中选择本村(社区)在册、尚未入队的志愿者。"),
        },
    )

    def __init__(self, *args, user, team, **kwargs):
        super().__init__(*args, **kwargs)
        # The active volunteers of the team's branch who are not in the team yet.
        self.fields["volunteer"].queryset = (
            Volunteer.objects.visible_to(user)
            .filter(is_active=True, unit__path__startswith=branch_path(team.unit))
            .exclude(memberships__team=team)
            .select_related("unit")
            .order_by("unit__path", "name", "id")
        )
        self.fields["volunteer"].label_from_instance = _volunteer_label
        say_what_is_required(styled(self))


class MerchantForm(CleanTextFormMixin, forms.Form):
    unit = UnitCodeField(label=_("所属单位（单位编码）"), help_text=_("村(社区)、小区或楼栋的编码"))
    name = forms.CharField(label=_("商家名称"), max_length=100)
    offer = forms.CharField(
        label=_("兑换内容"), max_length=200, help_text=_("例如：10 积分兑换洗衣液一瓶")
    )
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    is_active = forms.BooleanField(
        label=_("合作中"), required=False, help_text=_("取消勾选即停止合作，已兑换的记录保留")
    )

    def __init__(self, *args, user, merchant=None, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        if merchant is None:
            del self.fields["is_active"]
        say_what_is_required(styled(self))

    def clean_unit(self):
        return unit_in_scope(self.user, self.cleaned_data["unit"])

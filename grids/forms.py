"""Forms of the grids pages; the services check again (and say why in Chinese)."""

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from branches.models import OrgUnit
from branches.services.workflow import evidence_check
from governance.models import User
from grids.masking import shown_name
from grids.models import BuildingHead, CareTag, GridEvent, GridWorker, Hazard, Household, Visit
from grids.services.events import photo_check

READ_ONLY_ROLES = (User.Role.AUDITOR, User.Role.LEADER)  # User.is_read_only, as a filter


class StyledForm(forms.Form):
    """Bootstrap's classes on every widget (big tap targets for the purpose buttons)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.RadioSelect):
                css = "btn-check"
            elif isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs.setdefault("class", css)


def _never(household) -> str:
    if household.last_visited_on is None:
        return str(_("（未走访）"))
    return str(_("（上次 %(day)s）") % {"day": household.last_visited_on.strftime("%m-%d")})


DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")  # ISO, whatever the locale
DATE_ERRORS = {"invalid": _("日期格式应为 YYYY-MM-DD，例如 2026-04-30。")}


class VisitForm(StyledForm):
    household = forms.ModelChoiceField(
        label=_("住户"), queryset=Household.objects.none(), empty_label=_("请选择住户")
    )
    purpose = forms.ChoiceField(
        label=_("走访事由"), choices=Visit.Purpose.choices, widget=forms.RadioSelect
    )
    visited_on = forms.DateField(
        label=_("走访日期"), widget=DATE_WIDGET, error_messages=DATE_ERRORS
    )
    notes = forms.CharField(
        label=_("走访情况"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    needs_follow_up = forms.BooleanField(label=_("需要跟进"), required=False)

    def __init__(self, *args, households, user, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["household"]
        field.queryset = households
        field.label_from_instance = lambda h: " ".join(
            x for x in [h.address, shown_name(user, h.head_name), _never(h)] if x
        )
        self.fields["visited_on"].initial = timezone.localdate()


class EventForm(StyledForm):
    grid = forms.ModelChoiceField(label=_("网格"), queryset=None, empty_label=_("请选择网格"))
    category = forms.ChoiceField(label=_("事件类别"), choices=GridEvent.Category.choices)
    description = forms.CharField(
        label=_("事件描述"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )
    location = forms.CharField(label=_("地点"), max_length=200, required=False)
    photo = forms.FileField(
        label=_("现场照片"),
        required=False,
    )

    def __init__(self, *args, grids, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["photo"].help_text = _(
            "可选，一个 jpg、png 或 pdf 文件，不超过 %(mb)s MB。"
        ) % {"mb": settings.EVIDENCE_MAX_BYTES // 2**20}
        self.fields["grid"].queryset = grids
        if len(grids) == 1:
            self.fields["grid"].initial = grids[0].pk

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        if photo:
            photo_check(photo)
        return photo


class EventFilterForm(StyledForm):
    status = forms.ChoiceField(
        label=_("状态"), required=False, choices=[("", _("全部")), *GridEvent.Status.choices]
    )
    category = forms.ChoiceField(
        label=_("类别"), required=False, choices=[("", _("全部")), *GridEvent.Category.choices]
    )
    overdue = forms.BooleanField(label=_("只看逾期"), required=False)
    q = forms.CharField(label=_("事件编号/网格编码"), required=False, max_length=40)


class NoteForm(StyledForm):
    note = forms.CharField(
        label=_("说明"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class DispatchForm(StyledForm):
    """派单 to a unit of the event's township (the township or one of its villages) and/or
    a person there who can handle it; picked from lists, not typed codes."""

    assignee_unit = forms.ModelChoiceField(
        label=_("承办单位"),
        queryset=OrgUnit.objects.none(),
        required=False,
        empty_label=_("（不指定单位）"),
        help_text=_("本乡镇（街道）或其村（社区）；也可只指定承办人。"),
    )
    assignee_user = forms.ModelChoiceField(
        label=_("承办人"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("（不指定承办人）"),
    )
    deadline = forms.DateField(label=_("办理期限"), widget=DATE_WIDGET, error_messages=DATE_ERRORS)
    note = forms.CharField(label=_("派单说明"), required=False, max_length=1000)

    def __init__(self, *args, event, user, **kwargs):
        super().__init__(*args, **kwargs)
        place = event.grid.unit
        township = next(
            (u for u in OrgUnit.objects.get_ancestors(place) if u.level == OrgUnit.Level.TOWNSHIP),
            place,
        )
        units = OrgUnit.objects.visible_to(user).filter(path__startswith=township.path)
        self.fields["assignee_unit"].queryset = units.filter(
            level__lte=OrgUnit.Level.VILLAGE
        ).order_by("path")
        people = User.objects.filter(is_active=True, unit__in=units)
        self.fields["assignee_user"].queryset = (
            people.exclude(role__in=READ_ONLY_ROLES)
            .select_related("unit")
            .order_by("unit__path", "username")
        )
        self.fields["assignee_user"].label_from_instance = lambda person: person.choice_label

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("assignee_unit") and not data.get("assignee_user"):
            raise forms.ValidationError(_("派单须指定承办单位或承办人（至少一项）。"))
        return data


class HazardForm(StyledForm):
    grid = forms.ModelChoiceField(label=_("网格"), queryset=None, empty_label=_("请选择网格"))
    place = forms.CharField(label=_("隐患位置"), max_length=200)
    kind = forms.ChoiceField(label=_("隐患类别"), choices=Hazard.Kind.choices)
    risk = forms.ChoiceField(label=_("风险等级"), choices=Hazard.Risk.choices)
    description = forms.CharField(
        label=_("隐患描述"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    found_on = forms.DateField(label=_("发现日期"), widget=DATE_WIDGET, error_messages=DATE_ERRORS)
    deadline = forms.DateField(label=_("整改期限"), widget=DATE_WIDGET, error_messages=DATE_ERRORS)
    responsible_name = forms.CharField(label=_("整改责任人"), max_length=50)

    def __init__(self, *args, grids, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["grid"].queryset = grids
        self.fields["found_on"].initial = timezone.localdate()


class EvidenceForm(StyledForm):
    file = forms.FileField(label=_("整改佐证"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        evidence_check(upload)
        return upload


class HazardCloseForm(StyledForm):
    note = forms.CharField(
        label=_("整改情况"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ImportForm(StyledForm):
    file = forms.FileField(label=_("住户表（.xlsx 或 .csv）"))


class PhotoForm(StyledForm):
    photo = forms.FileField(label=_("补充现场照片"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["photo"].help_text = _("一个 jpg、png 或 pdf 文件，不超过 %(mb)s MB。") % {
            "mb": settings.EVIDENCE_MAX_BYTES // 2**20
        }

    def clean_photo(self):
        photo = self.cleaned_data["photo"]
        photo_check(photo)
        return photo


def _unit_label(unit) -> str:
    return f"{unit.name}（{unit.code}）"


class GridForm(StyledForm):
    """A grid's place, code, name, party group and buildings; the place is fixed once created
    (its households are its own), so an edit shows it and does not take it."""

    unit = forms.ModelChoiceField(
        label=_("所属村(社区)/小区"),
        queryset=OrgUnit.objects.none(),
        empty_label=_("请选择村(社区)或小区"),
    )
    code = forms.CharField(
        label=_("网格编码"),
        required=False,
        max_length=40,
        help_text=_("全省唯一，用在网页地址中，例如 G-410102001001-01。"),
    )
    name = forms.CharField(label=_("网格名称"), required=False, max_length=100)
    party_group = forms.CharField(
        label=_("网格党小组"), required=False, max_length=100, help_text=_("没有的留空。")
    )
    buildings = forms.ModelMultipleChoiceField(
        label=_("覆盖楼栋"),
        queryset=OrgUnit.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_(
            "按住 Ctrl（或 ⌘）可多选；只能选所属村(社区)/小区内的楼栋，"
            "已划入其他网格的楼栋不能重复划入。"
        ),
    )

    def __init__(self, *args, units, buildings, grid=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["unit"]
        field.queryset = units
        field.label_from_instance = _unit_label
        if grid is not None:
            field.disabled = True
            field.required = False
            field.help_text = _("网格建立后不能改到别的村(社区)。")
        self.fields["buildings"].queryset = buildings
        self.fields["buildings"].label_from_instance = _unit_label


class WorkerForm(StyledForm):
    name = forms.CharField(label=_("姓名"), required=False, max_length=50)
    kind = forms.ChoiceField(label=_("类型"), choices=GridWorker.Kind.choices)
    phone = forms.CharField(label=_("手机号"), required=False, max_length=20)
    is_party_member = forms.BooleanField(label=_("党员"), required=False)
    account = forms.ModelChoiceField(
        label=_("登录账号"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("（没有账号）"),
        help_text=_("本村(社区)尚未关联网格员的“网格员”角色账号；没有账号的留空。"),
    )

    def __init__(self, *args, accounts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts
        self.fields["account"].label_from_instance = lambda person: person.choice_label


class AssignForm(StyledForm):
    worker = forms.ModelChoiceField(
        label=_("网格员"), queryset=GridWorker.objects.none(), empty_label=_("请选择网格员")
    )

    def __init__(self, *args, workers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["worker"].queryset = workers


class HouseholdForm(StyledForm):
    """A household without ID numbers; the service checks the text, the phone and the address."""

    address_building = forms.CharField(label=_("楼栋/组"), required=False, max_length=50)
    address_unit = forms.CharField(label=_("单元"), required=False, max_length=20)
    address_room = forms.CharField(label=_("门牌/房号"), required=False, max_length=20)
    building = forms.ModelChoiceField(
        label=_("楼栋"),
        queryset=OrgUnit.objects.none(),
        required=False,
        empty_label=_("（不按楼栋，如农村住户）"),
    )
    head_name = forms.CharField(label=_("户主姓名"), required=False, max_length=50)
    phone = forms.CharField(label=_("联系电话"), required=False, max_length=20)
    member_count = forms.IntegerField(
        label=_("家庭人数"),
        initial=1,
        error_messages={
            "invalid": _("家庭人数请填写整数，例如 3。"),
            "required": _("请填写家庭人数（1 到 30 之间的整数）。"),
        },
    )
    care_tags = forms.MultipleChoiceField(
        label=_("关爱标签"),
        choices=CareTag.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    is_party_member_household = forms.BooleanField(label=_("党员中心户"), required=False)
    worker = forms.ModelChoiceField(
        label=_("联系网格员"),
        queryset=GridWorker.objects.none(),
        required=False,
        empty_label=_("（暂不指定）"),
    )

    def __init__(self, *args, buildings, workers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building"].queryset = buildings
        self.fields["worker"].queryset = workers
        self.fields["care_tags"].widget.attrs["class"] = "form-check-input"


class BuildingHeadForm(StyledForm):
    building = forms.ModelChoiceField(
        label=_("楼栋"), queryset=OrgUnit.objects.none(), empty_label=_("请选择楼栋")
    )
    title = forms.ChoiceField(label=_("职务"), choices=BuildingHead.Title.choices)
    name = forms.CharField(label=_("姓名"), required=False, max_length=50)
    phone = forms.CharField(label=_("手机号"), required=False, max_length=20)
    household = forms.ModelChoiceField(
        label=_("所在住户"),
        queryset=Household.objects.none(),
        required=False,
        empty_label=_("（不关联住户）"),
        help_text=_("可选：楼栋长是本楼栋住户的，选其住户。"),
    )
    selected_on = forms.DateField(
        label=_("选任日期"), widget=DATE_WIDGET, error_messages=DATE_ERRORS
    )
    term_end = forms.DateField(
        label=_("任期截止"),
        required=False,
        widget=DATE_WIDGET,
        error_messages=DATE_ERRORS,
        help_text=_("没有固定任期的留空。"),
    )

    def __init__(self, *args, buildings, households, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building"].queryset = buildings
        field = self.fields["household"]
        field.queryset = households
        field.label_from_instance = lambda h: f"{h.address} {shown_name(user, h.head_name)}"
        self.fields["selected_on"].initial = timezone.localdate()

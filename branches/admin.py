"""Admin: the org tree (moves checked against the level rule) and the criteria catalogue
(a set that ratings used is read-only; edits go to a copy)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Min
from django.http import HttpResponseBadRequest
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from treebeard.admin import TreeAdmin
from treebeard.forms import MoveNodeForm, movenodeform_factory

from branches.metrics import registry
from branches.models import (
    CriteriaSet,
    Criterion,
    ExportLog,
    OrgUnit,
    RecomputeChunk,
    RecomputeRun,
    Rectification,
    RectificationEvent,
    RectificationEvidence,
    assessment_paths_refresh,
)
from branches.services.criteria import criteria_set_copy

L = OrgUnit.Level
POSITION_LABELS = {
    "first-child": _("作为参照单位的第一个下级单位"),
    "left": _("排在参照单位之前（同级）"),
    "right": _("排在参照单位之后（同级）"),
}
CHILD_POSITIONS = {"first-child", "last-child", "sorted-child", "child"}


def level_rule_error(level: int, parent: OrgUnit | None) -> str | None:
    """Why a unit of `level` cannot sit under `parent`, or None if it can.

    The database trigger checks this on insert and on a change of level, not when a
    node is moved, so the admin checks it before every placement.
    """
    if parent is not None and level <= parent.level:
        return _(
            "层级必须低于上级单位“%(parent)s”的层级（%(parent_level)s）。"
            "请选择更低的层级，或换一个参照单位。"
        ) % {"parent": parent.name, "parent_level": L(parent.level).label}
    return None


class OrgUnitAdminForm(MoveNodeForm):
    """Treebeard's add/move form with the reference unit entered by its code.

    The stock form lists every unit of the tree in one <select>, which a province's
    ~50,000 units make unusable. It also checks the level rule and the area type
    here, so a wrong placement is a form error instead of a database error.
    """

    treebeard_ref_node = forms.ModelChoiceField(
        queryset=OrgUnit.objects.all(),
        to_field_name="code",
        required=False,
        label=_("参照单位编码"),
        widget=forms.TextInput,
        help_text=_("填写参照单位的编码，如上级单位的编码；留空表示作为顶级单位（省）。"),
        error_messages={"invalid_choice": _("没有这个编码的单位，请检查后重新填写。")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        position = self.fields["treebeard_position"]
        position.label = _("位置")
        position.choices = [
            (value, POSITION_LABELS.get(value, label)) for value, label in position.choices
        ]

    def _set_ref_model_queryset(self, opts, instance):
        """Keep the code lookup: the stock method loads the whole tree as choices."""

    def clean(self):
        cleaned = super().clean()
        level = cleaned.get("level")
        position = cleaned.get("treebeard_position")
        ref = cleaned.get("treebeard_ref_node")
        if level is None or position is None:
            return cleaned
        unit = self.instance
        if ref is not None and not unit._state.adding and ref.path.startswith(unit.path):
            self.add_error(
                "treebeard_ref_node", _("不能以本单位或它的下级单位作为参照单位，请换一个编码。")
            )
            return cleaned
        if ref is None:
            parent = None
        elif position in CHILD_POSITIONS:
            parent = ref
        else:
            parent = OrgUnit.objects.get_parent(ref)
        if error := level_rule_error(level, parent):
            self.add_error("level", error)
        if not unit._state.adding and unit.numchild:
            child_level = OrgUnit.objects.get_children(unit).aggregate(top=Min("level"))["top"]
            if level >= child_level:
                self.add_error(
                    "level",
                    _("该单位有“%(child_level)s”层级的下级单位，层级必须高于它们。")
                    % {"child_level": L(child_level).label},
                )
        self._clean_area_type(level, cleaned.get("area_type", ""), parent)
        return cleaned

    def _clean_area_type(self, level, area_type, parent):
        # The model's check constraint would say only its own name; these say what to choose.
        if level < L.VILLAGE and area_type:
            self.add_error("area_type", _("县、乡镇等上级单位不分农村和城市社区，请留空。"))
        elif level >= L.VILLAGE and not area_type:
            self.add_error("area_type", _("村(社区)及以下单位必须选择区域类型：农村或城市社区。"))
        elif parent is not None and parent.level >= L.VILLAGE and area_type != parent.area_type:
            self.add_error(
                "area_type",
                _("应与上级单位一致（%(area)s）。")
                % {"area": OrgUnit.AreaType(parent.area_type).label},
            )


@admin.register(OrgUnit)
class OrgUnitAdmin(TreeAdmin, SimpleHistoryAdmin):
    form = movenodeform_factory(OrgUnit, form=OrgUnitAdminForm)
    list_display = ["name", "code", "level", "area_type", "party_org_kind", "secretary_name"]
    list_filter = ["level", "area_type"]
    search_fields = ["name", "code"]
    readonly_fields = ["created_at", "updated_at"]

    def move_node(self, request):
        """Drag and drop in the change list, refused when it would break the level rule."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        node = OrgUnit.objects.filter(pk=request.POST.get("node")).first()
        target = OrgUnit.objects.filter(pk=request.POST.get("target")).first()
        if node and target:
            child = request.POST.get("relation") in CHILD_POSITIONS
            parent = target if child else OrgUnit.objects.get_parent(target)
            if error := level_rule_error(node.level, parent):
                messages.error(request, error)
                return HttpResponseBadRequest(error)
        response = super().move_node(request)
        assessment_paths_refresh()
        return response

    def save_model(self, request, obj, form, change):
        """A placement can renumber the paths of a whole subtree; keep stored copies in line."""
        super().save_model(request, obj, form, change)
        assessment_paths_refresh()


CRITERION_FIELDS = [
    "star",
    "order",
    "code",
    "title",
    "source",
    "metric_key",
    "kind",
    "unit",
    "comparator",
    "threshold",
    "max_value",
    "jump_factor",
    "aggregation",
    "min_months",
    "veto_scope",
    "evidence_required",
    "help_text",
]


class CriterionForm(forms.ModelForm):
    class Meta:
        model = Criterion
        fields = CRITERION_FIELDS

    def clean_metric_key(self):
        key = self.cleaned_data.get("metric_key", "")
        if key and key not in registry:
            raise ValidationError(
                _("未注册的系统指标“%(key)s”。可用的指标：%(keys)s")
                % {"key": key, "keys": "、".join(registry.keys()) or "-"}
            )
        return key


class CriteriaSetForm(forms.ModelForm):
    class Meta:
        model = CriteriaSet
        fields = [
            "year",
            "area_type",
            "version",
            "name",
            "star_names",
            "capstone",
            "is_active",
            "is_default_catalogue",
            "note",
        ]

    def clean_star_names(self):
        """Exactly five names: the engine and every page index the stars 1..5 by them."""
        names = self.cleaned_data.get("star_names")
        example = '["支部过硬星", "产业兴旺星", "生态宜居星", "平安法治星", "文明幸福星"]'
        if not isinstance(names, list):
            raise ValidationError(
                _("五颗星名称应写成按顺序排列的列表，例如 %(example)s。") % {"example": example}
            )
        if len(names) != len(CriteriaSet.Stars):
            raise ValidationError(
                _(
                    "五颗星名称应正好 5 个，现在是 %(n)s 个。"
                    "请按第一至第五颗星的顺序填写，例如 %(example)s。"
                )
                % {"n": len(names), "example": example}
            )
        for star, name in enumerate(names, start=1):
            if not isinstance(name, str) or not name.strip():
                raise ValidationError(
                    _("第%(star)s颗星的名称为空或不是文字，请填写星的名称。") % {"star": star}
                )
        return [name.strip() for name in names]


class CriterionInline(admin.TabularInline):
    model = Criterion
    form = CriterionForm
    extra = 0
    fields = CRITERION_FIELDS

    def _editable(self, obj):
        return obj is None or not obj.is_locked

    def has_add_permission(self, request, obj=None):
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj) and super().has_delete_permission(request, obj)


@admin.register(CriteriaSet)
class CriteriaSetAdmin(SimpleHistoryAdmin):
    form = CriteriaSetForm
    list_display = [
        "name",
        "year",
        "area_type",
        "version",
        "is_active",
        "is_default_catalogue",
        "locked_at",
    ]
    list_filter = ["year", "area_type", "is_active"]
    inlines = [CriterionInline]
    actions = ["copy_as_new_version", "copy_to_next_year"]
    readonly_fields = ["locked_at", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_locked:
            return [f.name for f in CriteriaSet._meta.fields]
        return self.readonly_fields

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None and obj.is_locked:
            messages.warning(
                request,
                _("该指标体系已被星级评定使用（%(at)s 锁定），不能直接修改，以便历史评定可复核。"
                  "如需调整，请在列表中选中它并执行“复制为新版本”。")
                % {"at": obj.locked_at.strftime("%Y-%m-%d %H:%M")},
            )  # fmt: skip
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("复制为新版本（新版本启用，可修改）"))
    def copy_as_new_version(self, request, queryset):
        for criteria_set in queryset:
            copy = criteria_set_copy(source=criteria_set)
            messages.success(request, _("已创建 %(copy)s。") % {"copy": copy})

    @admin.action(description=_("复制到下一年"))
    def copy_to_next_year(self, request, queryset):
        for criteria_set in queryset:
            try:
                copy = criteria_set_copy(source=criteria_set, year=criteria_set.year + 1)
            except ValidationError as error:
                messages.error(request, error.messages[0])
            else:
                messages.success(request, _("已创建 %(copy)s。") % {"copy": copy})


class RecomputeChunkInline(admin.TabularInline):
    model = RecomputeChunk
    fields = ["unit", "branches", "sends", "sent_at", "started_at", "finished_at"]
    readonly_fields = fields
    can_delete = False
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(RecomputeRun)
class RecomputeRunAdmin(admin.ModelAdmin):
    """The durable recompute runs, to watch (read-only): the workers and the sweep write them."""

    list_display = ["period", "kind", "under", "origin", "requested_at", "finished_at"]
    list_filter = ["kind", "origin", ("finished_at", admin.EmptyFieldListFilter)]
    date_hierarchy = "requested_at"
    fields = [*list_display, "started_at", "result"]
    readonly_fields = fields
    inlines = [RecomputeChunkInline]
    list_select_related = ["under"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ExportLog)
class ExportLogAdmin(admin.ModelAdmin):
    """Who exported what (read-only): every export writes its own row."""

    list_display = [
        "started_at",
        "user_name",
        "export",
        "format",
        "unit_code",
        "rows",
        "is_complete",
    ]
    list_filter = ["export", "format", "is_complete"]
    search_fields = ["user_name", "unit_code"]
    date_hierarchy = "started_at"
    fields = [*list_display, "user", "unit", "params", "finished_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RectificationEventInline(admin.TabularInline):
    model = RectificationEvent
    fields = ["occurred_at", "action", "from_status", "to_status", "actor_name", "note"]
    readonly_fields = fields
    can_delete = False
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False


class RectificationEvidenceInline(admin.TabularInline):
    model = RectificationEvidence
    fields = ["original_name", "file", "size", "uploaded_by", "uploaded_at"]
    readonly_fields = fields
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Rectification)
class RectificationAdmin(SimpleHistoryAdmin):
    """Rectification items; the workflow lives on the portal's pages (this is for repairs)."""

    list_display = ["branch", "problem", "status", "still_failing", "deadline", "source"]
    list_filter = ["status", "still_failing", "source"]
    search_fields = ["branch__name", "branch__code", "problem"]
    date_hierarchy = "deadline"
    raw_id_fields = ["branch", "criterion", "responsible_unit", "responsible_user"]
    readonly_fields = [
        "created_by",
        "created_at",
        "closed_by",
        "closed_at",
        "verified_at",
        "version",
    ]
    inlines = [RectificationEvidenceInline, RectificationEventInline]
    list_select_related = ["branch"]

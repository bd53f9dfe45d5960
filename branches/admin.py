from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Min
from django.http import HttpResponseBadRequest
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from treebeard.admin import TreeAdmin
from treebeard.forms import MoveNodeForm, movenodeform_factory

from branches.models import OrgUnit, assessment_paths_refresh

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


from branches import criteria_admin  # noqa: E402, F401  (registers the criteria catalogue admin)

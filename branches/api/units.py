from django import forms
from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import Length, Substr
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import pagination, serializers, viewsets

from branches.models import OrgUnit

Level = OrgUnit.Level


class OrgUnitSerializer(serializers.ModelSerializer):
    level_display = serializers.CharField(
        source="get_level_display", read_only=True, help_text=_("层级名称，如“村(社区)”")
    )
    area_type_display = serializers.CharField(
        source="get_area_type_display", read_only=True, help_text=_("区域类型名称")
    )
    party_org_kind_display = serializers.CharField(
        source="get_party_org_kind_display", read_only=True, help_text=_("党组织类型名称")
    )
    parent_code = serializers.CharField(
        read_only=True, allow_null=True, help_text=_("上级单位编码；省级单位为 null")
    )
    children_count = serializers.IntegerField(
        source="numchild", read_only=True, help_text=_("直接下级单位数")
    )

    class Meta:
        model = OrgUnit
        fields = [
            "code",
            "name",
            "level",
            "level_display",
            "area_type",
            "area_type_display",
            "party_org_kind",
            "party_org_kind_display",
            "party_org_name",
            "secretary_name",
            "member_count",
            "household_count",
            "parent_code",
            "depth",
            "children_count",
            "updated_at",
        ]
        extra_kwargs = {
            "code": {"help_text": _("单位编码（行政区划代码），接口中以此标识单位")},
            "level": {"help_text": _("层级：1省 2市 3县(区) 4乡镇(街道) 5村(社区) 6小区 7楼栋")},
            "depth": {"help_text": _("在组织树中的深度，省级为 1")},
        }
        read_only_fields = fields


class OrgUnitPagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    page_size_query_description = _("每页条数，默认 50，最大 500")
    page_query_description = _("页码，从 1 开始")


class LevelField(forms.Field):
    """A level given as its number (5) or its name (VILLAGE, any case)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        value = str(value).strip()
        if value.isdecimal() and int(value) in Level.values:
            return int(value)
        if value.upper() in Level.names:
            return Level[value.upper()].value
        raise forms.ValidationError(
            _("层级“%(value)s”无效：请填写 1–7 的数字或 %(names)s 之一。"),
            code="invalid_choice",
            params={"value": value, "names": ", ".join(Level.names)},
        )


@extend_schema_field(
    {
        "type": "string",
        "enum": [str(value) for value in Level.values] + list(Level.names),
        "description": _(
            "层级：数字 1–7 或名称（不区分大小写）。1 PROVINCE 省，2 CITY 市，3 COUNTY 县(区)，"
            "4 TOWNSHIP 乡镇(街道)，5 VILLAGE 村(社区)，6 COMPOUND 小区，7 BUILDING 楼栋"
        ),
    }
)
class LevelFilter(filters.Filter):
    field_class = LevelField


def visible_units(request):
    return OrgUnit.objects.visible_to(request.user)


class UnitCodeFilter(filters.ModelChoiceFilter):
    """A unit named by its code, resolved within the caller's jurisdiction only.

    A code outside it is refused exactly like one that does not exist.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", visible_units)
        kwargs.setdefault("to_field_name", "code")
        kwargs.setdefault(
            "error_messages",
            {"invalid_choice": _("找不到编码为该值的单位，或它不在您的管辖范围内，请检查编码。")},
        )
        super().__init__(**kwargs)


class OrgUnitFilter(filters.FilterSet):
    parent = extend_schema_field(
        {"type": "string", "description": _("上级单位编码：只列出该单位的直接下级")}
    )(UnitCodeFilter(method="filter_parent"))
    under = extend_schema_field(
        {"type": "string", "description": _("单位编码：列出该单位本身及其全部下级")}
    )(UnitCodeFilter(method="filter_under"))
    level = LevelFilter(field_name="level")
    area_type = filters.ChoiceFilter(
        choices=OrgUnit.AreaType.choices, help_text=_("区域类型：RURAL 农村，URBAN 城市社区")
    )
    search = filters.CharFilter(
        method="filter_search", help_text=_("按名称或编码查找（包含即可匹配）")
    )

    class Meta:
        model = OrgUnit
        fields = ["parent", "under", "level", "area_type", "search"]

    def filter_parent(self, queryset, name, value):
        return queryset.filter(path__startswith=value.path, depth=value.depth + 1)

    def filter_under(self, queryset, name, value):
        return queryset.under(value)

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value))


def with_parent_code(queryset):
    """Annotate each unit with its parent's code, looked up by the path one step shorter."""
    parent = OrgUnit.objects.order_by().filter(
        path=Substr(OuterRef("path"), 1, Length(OuterRef("path")) - OrgUnit.steplen)
    )
    return queryset.annotate(parent_code=Subquery(parent.values("code")[:1]))


@extend_schema_view(
    list=extend_schema(
        summary=_("组织单位列表"),
        description=_(
            "列出您管辖范围内的组织单位（本单位及全部下级），按组织树顺序分页返回。"
            "可按上级单位、子树、层级、区域类型筛选，或按名称、编码查找。"
        ),
    ),
    retrieve=extend_schema(
        summary=_("组织单位详情"),
        description=_("按编码取一个组织单位。不存在或不在您管辖范围内的编码一律返回 404。"),
    ),
)
@extend_schema(tags=[_("组织单位")])
class OrgUnitViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = OrgUnitSerializer
    filterset_class = OrgUnitFilter
    pagination_class = OrgUnitPagination
    lookup_field = "code"
    queryset = OrgUnit.objects.none()

    def get_queryset(self):
        return with_parent_code(OrgUnit.objects.visible_to(self.request.user))

"""Admin of the criteria catalogue: a set that ratings used is read-only; edits go to a copy."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from branches.criteria import criteria_set_copy
from branches.metrics import registry
from branches.models import CriteriaSet, Criterion

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

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

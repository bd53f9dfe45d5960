from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from governance.models import User

admin.site.site_header = _("五星支部门户 管理后台")
admin.site.site_title = _("五星支部门户")
admin.site.index_title = _("数据管理")


class UnitRequiredMixin:
    """Says in words what the user_unit_required_unless_admin constraint would only name."""

    def clean(self):
        cleaned = super().clean()
        role = cleaned.get("role")
        if role and role != User.Role.ADMIN and not cleaned.get("unit"):
            self.add_error(
                "unit",
                _("除系统管理员外，每个用户都必须有管辖单位。请输入单位名称或编码并选择。"),
            )
        return cleaned


class UserAdminChangeForm(UnitRequiredMixin, UserChangeForm):
    pass


class UserAdminCreationForm(UnitRequiredMixin, AdminUserCreationForm):
    pass


@admin.register(User)
class UserAdmin(BaseUserAdmin, SimpleHistoryAdmin):
    form = UserAdminChangeForm
    add_form = UserAdminCreationForm
    list_display = ["username", "last_name", "first_name", "role", "unit", "is_active"]
    list_filter = ["role", "is_active", "is_staff"]
    list_select_related = ["unit"]
    search_fields = ["username", "first_name", "last_name", "unit__name", "unit__code"]
    autocomplete_fields = ["unit"]
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        (_("角色与管辖范围"), {"fields": ["role", "unit", "phone"]}),
    ]
    add_fieldsets = [
        *BaseUserAdmin.add_fieldsets,
        (_("角色与管辖范围"), {"fields": ["role", "unit"]}),
    ]

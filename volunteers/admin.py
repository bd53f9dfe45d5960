"""Admin: teams, volunteers, merchants and the records with their history. The ledger and
the order steps are read-only here: points change through the services only."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from volunteers.models import (
    Activity,
    Attendance,
    Membership,
    Merchant,
    PointsBalance,
    PointsEntry,
    ServiceOrder,
    ServiceOrderStep,
    Team,
    Volunteer,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["volunteer"]


@admin.register(Team)
class TeamAdmin(SimpleHistoryAdmin):
    list_display = ["name", "unit", "colour", "domain", "leader", "is_active"]
    list_filter = ["colour", "is_active"]
    search_fields = ["name", "unit__name", "unit__code"]
    raw_id_fields = ["unit", "leader"]
    inlines = [MembershipInline]


@admin.register(Volunteer)
class VolunteerAdmin(SimpleHistoryAdmin):
    list_display = ["name", "unit", "is_party_member", "is_in_service_member", "is_active"]
    list_filter = ["is_party_member", "is_in_service_member", "is_active"]
    search_fields = ["name", "unit__name", "unit__code"]
    raw_id_fields = ["unit", "user"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        PointsBalance.objects.get_or_create(volunteer=obj)


@admin.register(Merchant)
class MerchantAdmin(SimpleHistoryAdmin):
    list_display = ["name", "unit", "offer", "is_active"]
    search_fields = ["name", "unit__name"]
    raw_id_fields = ["unit"]


class AttendanceInline(admin.TabularInline):
    model = Attendance
    extra = 0
    raw_id_fields = ["volunteer", "confirmed_by"]
    readonly_fields = ["status", "confirmed_by", "confirmed_at"]


@admin.register(Activity)
class ActivityAdmin(SimpleHistoryAdmin):
    list_display = ["title", "team", "kind", "date", "people_served"]
    list_filter = ["kind"]
    date_hierarchy = "date"
    search_fields = ["title", "team__name"]
    raw_id_fields = ["team", "place", "created_by"]
    inlines = [AttendanceInline]


@admin.register(PointsEntry)
class PointsEntryAdmin(SimpleHistoryAdmin):
    list_display = ["volunteer", "kind", "points", "reason", "created_at"]
    list_filter = ["kind"]
    search_fields = ["volunteer__name"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StepInline(admin.TabularInline):
    model = ServiceOrderStep
    extra = 0
    can_delete = False
    readonly_fields = ["action", "from_status", "to_status", "actor_name", "note", "occurred_at"]
    exclude = ["actor"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ServiceOrder)
class ServiceOrderAdmin(SimpleHistoryAdmin):
    list_display = ["number", "unit", "category", "status", "team", "deadline"]
    list_filter = ["status", "category"]
    search_fields = ["number", "unit__name"]
    raw_id_fields = ["unit", "team", "created_by"]
    readonly_fields = ["status", "dispatched_at", "accepted_at", "completed_at"]
    inlines = [StepInline]

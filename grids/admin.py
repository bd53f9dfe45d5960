from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from grids.models import (
    BuildingHead,
    Grid,
    GridAssignment,
    GridBuilding,
    GridEvent,
    GridEventStep,
    GridWorker,
    Hazard,
    HazardStep,
    Household,
    Visit,
)


class GridBuildingInline(admin.TabularInline):
    model = GridBuilding
    raw_id_fields = ["building"]
    extra = 0


@admin.register(Grid)
class GridAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "unit", "party_group", "is_active"]
    search_fields = ["code", "name", "unit__name"]
    raw_id_fields = ["unit"]
    inlines = [GridBuildingInline]


@admin.register(GridWorker)
class GridWorkerAdmin(SimpleHistoryAdmin):
    list_display = ["name", "unit", "kind", "is_party_member", "user", "is_active"]
    search_fields = ["name", "unit__name"]
    raw_id_fields = ["unit", "user"]


@admin.register(GridAssignment)
class GridAssignmentAdmin(SimpleHistoryAdmin):
    list_display = ["worker", "grid", "started_on", "ended_on"]
    raw_id_fields = ["worker", "grid"]


@admin.register(Household)
class HouseholdAdmin(SimpleHistoryAdmin):
    list_display = ["grid", "address_building", "address_unit", "address_room", "member_count"]
    search_fields = ["grid__code", "address_building"]
    raw_id_fields = ["grid", "building", "worker"]


@admin.register(Visit)
class VisitAdmin(SimpleHistoryAdmin):
    list_display = ["visited_on", "household", "purpose", "worker"]
    raw_id_fields = ["household", "grid", "worker", "recorded_by"]
    date_hierarchy = "visited_on"


class GridEventStepInline(admin.TabularInline):
    model = GridEventStep
    extra = 0
    can_delete = False
    readonly_fields = ["action", "from_status", "to_status", "actor_name", "note", "occurred_at"]
    exclude = ["actor"]


@admin.register(GridEvent)
class GridEventAdmin(SimpleHistoryAdmin):
    """Events move through the services; the admin reads them."""

    list_display = ["number", "grid", "category", "status", "reported_at", "deadline"]
    list_filter = ["status", "category"]
    search_fields = ["number"]
    inlines = [GridEventStepInline]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(BuildingHead)
class BuildingHeadAdmin(SimpleHistoryAdmin):
    list_display = ["building", "title", "name", "selected_on", "term_end"]
    raw_id_fields = ["building", "household"]


class HazardStepInline(admin.TabularInline):
    model = HazardStep
    extra = 0
    can_delete = False
    readonly_fields = ["action", "from_status", "to_status", "actor_name", "note", "occurred_at"]
    exclude = ["actor"]


@admin.register(Hazard)
class HazardAdmin(SimpleHistoryAdmin):
    list_display = ["number", "grid", "kind", "risk", "status", "deadline"]
    list_filter = ["status", "kind", "risk"]
    inlines = [HazardStepInline]

    def has_change_permission(self, request, obj=None):
        return False

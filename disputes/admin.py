"""Admin for repairs: the workflow lives on the portal's pages; steps are read-only here."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from disputes.models import (
    CaseAttachment,
    CaseStep,
    DisputeCase,
    MediationSession,
    MediationTeam,
    Party,
    ReturnVisit,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PartyInline(admin.TabularInline):
    model = Party
    extra = 0


class StepInline(ReadOnlyInline):
    model = CaseStep
    fields = ["occurred_at", "action", "from_status", "to_status", "to_level", "actor_name", "note"]
    readonly_fields = fields


class SessionInline(ReadOnlyInline):
    model = MediationSession
    fields = ["held_on", "place", "result", "mediator"]
    readonly_fields = fields


class VisitInline(ReadOnlyInline):
    model = ReturnVisit
    fields = ["visited_on", "satisfaction", "visitor", "note"]
    readonly_fields = fields


class AttachmentInline(ReadOnlyInline):
    model = CaseAttachment
    fields = ["original_name", "file", "size", "uploaded_by", "uploaded_at"]
    readonly_fields = fields


@admin.register(DisputeCase)
class DisputeCaseAdmin(SimpleHistoryAdmin):
    list_display = ["number", "unit", "category", "status", "handling_level", "due_on"]
    list_filter = ["status", "category", "handling_level", "is_overdue"]
    search_fields = ["number", "summary"]
    raw_id_fields = [
        "unit",
        "branch",
        "township",
        "handling_unit",
        "mediator",
        "team",
        "created_by",
    ]
    readonly_fields = ["number", "version", "created_at", "updated_at"]
    inlines = [PartyInline, StepInline, SessionInline, VisitInline, AttachmentInline]


@admin.register(MediationTeam)
class MediationTeamAdmin(SimpleHistoryAdmin):
    list_display = ["name", "kind", "unit", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "unit__name"]
    raw_id_fields = ["unit"]
    filter_horizontal = ["members"]

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from branches.models import OrgUnit


@admin.register(OrgUnit)
class OrgUnitAdmin(TreeAdmin, SimpleHistoryAdmin):
    form = movenodeform_factory(OrgUnit)
    list_display = ["name", "code", "level", "area_type", "party_org_kind", "secretary_name"]
    list_filter = ["level", "area_type"]
    search_fields = ["name", "code"]

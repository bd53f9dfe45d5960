from django.urls import path

from grids.views import events, exports, grids, hazards, households

app_name = "grids"

urlpatterns = [
    path("", grids.grid_list, name="grid_list"),
    path("new/", grids.grid_create, name="grid_create"),
    path("mine/", grids.my_grids, name="my_grids"),
    path("households/unvisited/", households.households_unvisited, name="households_unvisited"),
    path("households/import/", households.household_import, name="household_import"),
    path("households/<int:pk>/", households.household_detail, name="household_detail"),
    path("households/<int:pk>/edit/", households.household_edit, name="household_edit"),
    path("visits/", households.visit_list, name="visit_list"),
    path("visits/new/", households.visit_create, name="visit_create"),
    path("events/", events.event_list, name="event_list"),
    path("events/new/", events.event_create, name="event_create"),
    path("events/<str:number>/", events.event_detail, name="event_detail"),
    # Before the workflow actions: "photos" is not one of them.
    path("events/<str:number>/photos/", events.event_photo_add, name="event_photo_add"),
    path("events/<str:number>/photos/<int:pk>/", events.event_photo, name="event_photo"),
    path("events/<str:number>/<str:action>/", events.event_action, name="event_action"),
    path("hazards/", hazards.hazard_list, name="hazard_list"),
    path("hazards/new/", hazards.hazard_create, name="hazard_create"),
    path("hazards/<str:number>/", hazards.hazard_detail, name="hazard_detail"),
    path("hazards/<str:number>/evidence/", hazards.hazard_evidence, name="hazard_evidence"),
    path("hazards/<str:number>/close/", hazards.hazard_close, name="hazard_close"),
    path(
        "hazards/<str:number>/evidence/<int:pk>/",
        hazards.hazard_evidence_file,
        name="hazard_evidence_file",
    ),
    path("export/<str:export>/", exports.grid_export, name="grid_export"),
    path("<str:code>/", grids.grid_detail, name="grid_detail"),
    path("<str:code>/edit/", grids.grid_edit, name="grid_edit"),
    path("<str:code>/workers/new/", grids.worker_create, name="worker_create"),
    path("<str:code>/workers/assign/", grids.worker_assign, name="worker_assign"),
    path("<str:code>/workers/<int:pk>/unassign/", grids.worker_unassign, name="worker_unassign"),
    path("<str:code>/households/new/", households.household_create, name="household_create"),
    path("<str:code>/heads/new/", grids.building_head_create, name="building_head_create"),
]

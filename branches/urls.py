from django.urls import path

from branches import dashboard_views, report_views, sheet_views, views

app_name = "branches"

# Fixed paths (search, import) come before the <code>/ patterns so no code can shadow them.
urlpatterns = [
    path("", views.unit_list, name="unit_list"),
    path("search/", views.unit_search, name="unit_search"),
    path("import/", views.unit_import, name="unit_import"),
    path("import/template.csv", views.unit_import_template, name="unit_import_template"),
    path("<str:code>/", views.unit_detail, name="unit_detail"),
    path("<str:code>/history/", views.unit_history, name="unit_history"),
    path("<str:code>/edit/", views.unit_edit, name="unit_edit"),
    path("<str:code>/scorecard/", dashboard_views.scorecard, name="scorecard"),
    path(
        "<str:code>/scorecard/history.json",
        dashboard_views.scorecard_history,
        name="scorecard_history",
    ),
    path("<str:code>/summary/", dashboard_views.summary, name="summary"),
    path("<str:code>/summary/data.json", dashboard_views.summary_data, name="summary_data"),
    path("<str:code>/reports/<str:period>/", report_views.report_edit, name="report_edit"),
    path(
        "<str:code>/reports/<str:period>/evidence/<int:pk>/",
        report_views.report_evidence,
        name="report_evidence",
    ),
    path(
        "<str:code>/reports/<str:period>/unlock/",
        report_views.report_unlock,
        name="report_unlock",
    ),
    path("<str:code>/review/<str:period>/", report_views.report_review, name="report_review"),
    path(
        "<str:code>/reports/<str:period>/sheet.xlsx",
        sheet_views.report_sheet,
        name="report_sheet",
    ),
    path(
        "<str:code>/reports/<str:period>/sheet/",
        sheet_views.report_sheet_upload,
        name="report_sheet_upload",
    ),
    path(
        "<str:code>/reports/<str:period>/values.<str:fmt>",
        sheet_views.values_export,
        name="values_export",
    ),
    path(
        "<str:code>/ratings/<str:period>/export.<str:fmt>",
        sheet_views.ratings_export,
        name="ratings_export",
    ),
]

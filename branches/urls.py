from django.urls import path

from branches.views import dashboards, reports, sheets, units, workbench

app_name = "branches"

# Fixed paths (search, import) come before the <code>/ patterns so no code can shadow them.
urlpatterns = [
    path("", units.unit_list, name="unit_list"),
    path("search/", units.unit_search, name="unit_search"),
    path("import/", units.unit_import, name="unit_import"),
    path("import/template.csv", units.unit_import_template, name="unit_import_template"),
    path("<str:code>/", units.unit_detail, name="unit_detail"),
    path("<str:code>/history/", units.unit_history, name="unit_history"),
    path("<str:code>/edit/", units.unit_edit, name="unit_edit"),
    path("<str:code>/scorecard/", dashboards.scorecard, name="scorecard"),
    path(
        "<str:code>/scorecard/history.json",
        dashboards.scorecard_history,
        name="scorecard_history",
    ),
    path("<str:code>/summary/", dashboards.summary, name="summary"),
    path("<str:code>/summary/data.json", dashboards.summary_data, name="summary_data"),
    path("<str:code>/reports/<str:period>/", reports.report_edit, name="report_edit"),
    path(
        "<str:code>/reports/<str:period>/evidence/<int:pk>/",
        reports.report_evidence,
        name="report_evidence",
    ),
    path(
        "<str:code>/reports/<str:period>/unlock/",
        reports.report_unlock,
        name="report_unlock",
    ),
    path("<str:code>/review/<str:period>/", reports.report_review, name="report_review"),
    path("<str:code>/workbench/", workbench.month_workbench, name="month_workbench"),
    path(
        "<str:code>/reports/<str:period>/sheet.xlsx",
        sheets.report_sheet,
        name="report_sheet",
    ),
    path(
        "<str:code>/reports/<str:period>/sheet/",
        sheets.report_sheet_upload,
        name="report_sheet_upload",
    ),
    path(
        "<str:code>/reports/<str:period>/values.<str:fmt>",
        sheets.values_export,
        name="values_export",
    ),
    path(
        "<str:code>/reports/<str:period>/events.<str:fmt>",
        sheets.events_export,
        name="events_export",
    ),
    path(
        "<str:code>/ratings/<str:period>/export.<str:fmt>",
        sheets.ratings_export,
        name="ratings_export",
    ),
]

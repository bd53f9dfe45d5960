from django.urls import path

from disputes import views

app_name = "disputes"

# Fixed paths come before <number>/ so no case number can shadow them.
urlpatterns = [
    path("", views.case_list, name="case_list"),
    path("mine/", views.my_cases, name="my_cases"),
    path("new/", views.case_create, name="case_create"),
    path("export.<str:fmt>", views.ledger_export, name="ledger_export"),
    path("screening/", views.screening_page, name="screening"),
    path("screening/export.<str:fmt>", views.screening_export, name="screening_export"),
    path("teams/", views.team_list, name="team_list"),
    path("<str:number>/", views.case_detail, name="case_detail"),
    path("<str:number>/attachments/<int:pk>/", views.case_attachment, name="case_attachment"),
]

from django.urls import path

from branches import views

app_name = "branches"

urlpatterns = [
    path("", views.unit_list, name="unit_list"),
    path("<str:code>/", views.unit_detail, name="unit_detail"),
]

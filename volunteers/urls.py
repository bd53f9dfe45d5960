from django.urls import path

from volunteers.views import orders, people, teams

app_name = "volunteers"

urlpatterns = [
    path("", teams.team_list, name="team_list"),
    path("teams/new/", teams.team_create, name="team_create"),
    path("teams/<int:pk>/", teams.team_detail, name="team_detail"),
    path("teams/<int:pk>/edit/", teams.team_edit, name="team_edit"),
    path("teams/<int:pk>/members/add/", teams.member_add, name="member_add"),
    path("teams/<int:pk>/members/<int:volunteer_pk>/end/", teams.member_end, name="member_end"),
    path("teams/<int:pk>/record/", teams.activity_record, name="activity_record"),
    path("teams/<int:pk>/disband/", teams.team_disband, name="team_disband"),
    path("activities/<int:pk>/", teams.activity_detail, name="activity_detail"),
    path(
        "activities/<int:pk>/photos/<int:photo_pk>/",
        teams.activity_photo,
        name="activity_photo",
    ),
    path("hours/", teams.hours_confirm, name="hours_confirm"),
    path("people/", people.volunteer_list, name="volunteer_list"),
    path("people/new/", people.volunteer_create, name="volunteer_create"),
    path("people/<int:pk>/", people.volunteer_detail, name="volunteer_detail"),
    path("people/<int:pk>/edit/", people.volunteer_edit, name="volunteer_edit"),
    path("people/<int:pk>/redeem/", people.points_redeem, name="points_redeem"),
    path("people/<int:pk>/adjust/", people.points_adjust, name="points_adjust"),
    path("merchants/", people.merchant_list, name="merchant_list"),
    path("merchants/new/", people.merchant_create, name="merchant_create"),
    path("merchants/<int:pk>/edit/", people.merchant_edit, name="merchant_edit"),
    path("leaderboard/", people.leaderboard, name="leaderboard"),
    path("exports/<str:which>.<str:fmt>", people.ledger_export, name="ledger_export"),
    path("orders/", orders.order_list, name="order_list"),
    path("orders/new/", orders.order_create, name="order_create"),
    path("orders/<int:pk>/", orders.order_detail, name="order_detail"),
    path("orders/<int:pk>/<str:action>/", orders.order_action, name="order_action"),
]

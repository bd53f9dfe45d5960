from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from branches.views import assignments, exports
from branches.views import rectification as rectification_views
from governance import supervision_views, views
from governance.api import api_urlpatterns

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="governance/login.html"),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/read/", views.notifications_read_all, name="notifications_read_all"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("notifications/<int:pk>/", views.notification_open, name="notification_open"),
    path("exports/", exports.export_centre, name="export_centre"),
    path("exports/log/", exports.export_log_list, name="export_log"),
    path("rectifications/", rectification_views.rectification_list, name="rectification_list"),
    path(
        "rectifications/new/",
        rectification_views.rectification_create,
        name="rectification_create",
    ),
    path(
        "rectifications/<int:pk>/",
        rectification_views.rectification_detail,
        name="rectification_detail",
    ),
    path(
        "rectifications/<int:pk>/edit/",
        rectification_views.rectification_edit,
        name="rectification_edit",
    ),
    path(
        "rectifications/<int:pk>/evidence/<int:evidence_id>/",
        rectification_views.rectification_evidence,
        name="rectification_evidence",
    ),
    path(
        "rectifications/bulk/<str:code>/",
        rectification_views.rectification_bulk,
        name="rectification_bulk",
    ),
    path("assignments/", assignments.assignment_list, name="assignment_list"),
    path("assignments/new/", assignments.assignment_create, name="assignment_create"),
    path("assignments/<str:pk>/", assignments.assignment_detail, name="assignment_detail"),
    path("pairings/", assignments.pairing_list, name="pairing_list"),
    path("pairings/<str:pk>/confirm/", assignments.pairing_confirm, name="pairing_confirm"),
    path("pairings/<str:pk>/end/", assignments.pairing_end, name="pairing_end"),
    path(
        "pairings/county/<str:code>/",
        assignments.pairing_suggestions,
        name="pairing_suggestions",
    ),
    path(
        "pairings/county/<str:code>/confirm/",
        assignments.pairing_confirm_new,
        name="pairing_confirm_new",
    ),
    path("supervision/", supervision_views.supervision_list, name="supervision_list"),
    path(
        "supervision/generate/",
        supervision_views.supervision_generate,
        name="supervision_generate",
    ),
    path("supervision/<int:pk>/", supervision_views.supervision_detail, name="supervision_detail"),
    path(
        "supervision/<int:pk>/publish/",
        supervision_views.supervision_publish,
        name="supervision_publish",
    ),
    path(
        "supervision/<int:pk>/regenerate/",
        supervision_views.supervision_regenerate,
        name="supervision_regenerate",
    ),
    path(
        "supervision/<int:pk>/rectify/",
        supervision_views.supervision_rectify,
        name="supervision_rectify",
    ),
    path("supervision/<int:pk>/pdf/", supervision_views.supervision_pdf, name="supervision_pdf"),
    path("supervision/<int:pk>/xlsx/", supervision_views.supervision_xlsx, name="supervision_xlsx"),
    path("units/", include("branches.urls")),
    path("grids/", include("grids.urls")),
    path("volunteers/", include("volunteers.urls")),
    path("disputes/", include("disputes.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_urlpatterns)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        # The split view serves its start-up script as a file (?script), which the
        # Content-Security-Policy allows where an inline script would be refused.
        login_required(
            SpectacularSwaggerSplitView.as_view(
                url_name="api-schema", template_name="governance/swagger_ui.html"
            )
        ),
        name="api-docs",
    ),
]

handler400 = "governance.views.bad_request"
handler403 = "governance.views.permission_denied"
handler404 = "governance.views.page_not_found"
handler500 = "governance.views.server_error"

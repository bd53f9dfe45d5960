from django.urls import include, path
from rest_framework.routers import DefaultRouter

from branches.api import OrgUnitViewSet

router = DefaultRouter()
router.register("units", OrgUnitViewSet, basename="unit")

api_urlpatterns = [
    path("", include(router.urls)),
]

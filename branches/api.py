from rest_framework import serializers, viewsets

from branches.models import OrgUnit


class OrgUnitSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrgUnit
        fields = ["code", "name", "level", "area_type"]


class OrgUnitViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = OrgUnitSerializer
    lookup_field = "code"
    queryset = OrgUnit.objects.none()

    def get_queryset(self):
        return OrgUnit.objects.visible_to(self.request.user)

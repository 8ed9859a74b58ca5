from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import error_response
from core.api.serializers import ErrorSerializer
from incidents.api.views import visible_incident
from statuspage import permissions
from statuspage.models import (
    PUBLISHABLE_STATUSES,
    Component,
    ComponentStatus,
    Impact,
    IncidentStatus,
    PublicUpdate,
)
from statuspage.services import StatuspageError, component_change_status, statuspage_publish_update

ERRORS = {
    code: OpenApiResponse(ErrorSerializer, description=text)
    for code, text in [
        (400, "Invalid input"),
        (401, "No or bad token"),
        (403, "Not allowed"),
        (404, "Not found"),
    ]
}


class ComponentSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    group = serializers.BooleanField(source="is_group", read_only=True)
    group_id = serializers.CharField(source="group.public_id", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Component
        fields = [
            "id",
            "name",
            "description",
            "status",
            "position",
            "group",
            "group_id",
            "showcase",
            "only_show_if_degraded",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ComponentStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ComponentStatus.choices)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string", "enum": list(ComponentStatus.values)},
        "description": 'Component id to its new status, e.g. {"b7x3k2m9q1zp": "major_outage"}',
    }
)
class ComponentStatusesField(serializers.DictField):
    child = serializers.ChoiceField(choices=ComponentStatus.choices)


class PublicUpdateCreateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[(v, IncidentStatus(v).label) for v in PUBLISHABLE_STATUSES])
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=10000)
    components = ComponentStatusesField(required=False, default=dict)
    impact = serializers.ChoiceField(choices=Impact.choices, required=False, allow_null=True, default=None)
    deliver_notifications = serializers.BooleanField(required=False, default=True)
    confirm_restricted = serializers.BooleanField(
        required=False, default=False, help_text="Needed to publish about a security incident."
    )


class AffectedComponentSerializer(serializers.Serializer):
    """One component an update changed, as Statuspage's `affected_components` lists it."""

    code = serializers.CharField(help_text="The component's id")
    name = serializers.CharField()
    old_status = serializers.ChoiceField(choices=ComponentStatus.choices)
    new_status = serializers.ChoiceField(choices=ComponentStatus.choices)


class PublicUpdateSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    incident_id = serializers.CharField(source="public_incident.public_id", read_only=True)
    title = serializers.CharField(source="public_incident.name", read_only=True)
    impact = serializers.CharField(source="public_incident.impact", read_only=True)
    affected_components = serializers.SerializerMethodField()

    class Meta:
        model = PublicUpdate
        fields = [
            "id",
            "incident_id",
            "title",
            "status",
            "impact",
            "body",
            "affected_components",
            "deliver_notifications",
            "created_at",
            "display_at",
        ]
        read_only_fields = fields

    @extend_schema_field(AffectedComponentSerializer(many=True))
    def get_affected_components(self, update) -> list:
        return update.affected_components or []


class ComponentListView(generics.ListAPIView):
    serializer_class = ComponentSerializer
    queryset = Component.objects.select_related("group").order_by("position", "name")

    @extend_schema(summary="Status page components")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ComponentStatusView(APIView):
    @extend_schema(
        summary="Set a component's status (admins)",
        request=ComponentStatusSerializer,
        responses={200: ComponentSerializer, **ERRORS},
    )
    def post(self, request, component_id: str):
        if not permissions.may_set_component_status(request.user):
            raise PermissionDenied(
                "Only admins set a component's status by hand; liaisons set it in a public update."
            )
        component = get_object_or_404(Component, public_id=component_id)
        serializer = ComponentStatusSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            component_change_status(
                component=component, status=serializer.validated_data["status"], by=request.user
            )
        except StatuspageError as error:
            return error_response(400, str(error), "invalid")
        component.refresh_from_db()
        return Response(ComponentSerializer(component).data)


class PublicUpdateView(APIView):
    @extend_schema(
        summary="Post a public update to the status page",
        description="The customer liaison or the incident commander of the incident (or an admin) posts. "
        "Component statuses change with the update.",
        request=PublicUpdateCreateSerializer,
        responses={201: PublicUpdateSerializer, **ERRORS},
    )
    def post(self, request, pk: int):
        incident = visible_incident(request, pk)
        if not permissions.may_publish_for(request.user, incident):
            raise PermissionDenied(
                "Only the customer liaison or the incident commander of this incident (or an admin) "
                "can publish public updates."
            )
        serializer = PublicUpdateCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            update = statuspage_publish_update(
                incident=incident,
                by=request.user,
                title=data["title"],
                status=data["status"],
                body=data["body"],
                component_statuses=data["components"],
                impact=data["impact"],
                deliver_notifications=data["deliver_notifications"],
                confirm_restricted=data["confirm_restricted"],
            )
        except StatuspageError as error:
            return error_response(400, str(error), "invalid")
        update = PublicUpdate.objects.select_related("public_incident").get(pk=update.pk)
        return Response(PublicUpdateSerializer(update).data, status=status.HTTP_201_CREATED)

"""Shapes of the incidents API. Serializers check the shape of input; services check its meaning."""

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.serializers import PersonSerializer
from incidents import hooks
from incidents.models import Incident, Severity, TimelineEntry


class IncidentSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True)
    severity_label = serializers.CharField(read_only=True)
    is_major = serializers.BooleanField(read_only=True)
    declared_by = PersonSerializer(read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()
    api_url = serializers.SerializerMethodField()
    roles = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "id",
            "number",
            "reference",
            "title",
            "summary",
            "severity",
            "severity_label",
            "is_major",
            "status",
            "is_security",
            "deploy_freeze",
            "detected_at",
            "declared_at",
            "acknowledged_at",
            "mitigated_at",
            "resolved_at",
            "declared_by",
            "url",
            "api_url",
            "roles",
            "updated_at",
        ]
        read_only_fields = fields

    def get_url(self, incident: Incident) -> str:
        return settings.SITE_URL + incident.get_absolute_url()

    def get_api_url(self, incident: Incident) -> str:
        return settings.SITE_URL + reverse("api:incident_detail", kwargs={"pk": incident.pk})

    # The roles app, above this one, says who holds which role and how an
    # assignment is written (incidents/hooks.py); its RoleAssignment schema is
    # the one the roles endpoints describe.
    @extend_schema_field(
        {"type": "array", "items": {"$ref": "#/components/schemas/RoleAssignment"}, "readOnly": True}
    )
    def get_roles(self, incident: Incident) -> list[dict]:
        current = getattr(incident, "current_roles", None)
        if current is None:
            current = hooks.role_holders([incident.pk]).get(incident.pk, [])
        serializer = hooks.role_serializer()
        return serializer(current, many=True).data if serializer is not None else []


class IncidentDeclareSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    severity = serializers.ChoiceField(choices=Severity.choices)
    summary = serializers.CharField(max_length=10000, required=False, allow_blank=True, default="")
    is_security = serializers.BooleanField(required=False, default=False)
    detected_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    rollback_considered = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class IncidentEditSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    summary = serializers.CharField(max_length=10000, required=False, allow_blank=True)


class StatusChangeSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Incident.Status.choices)
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class SeverityChangeSerializer(serializers.Serializer):
    severity = serializers.ChoiceField(choices=Severity.choices)
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class ReopenSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5000)


class TimelineEntrySerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    author = PersonSerializer(read_only=True, allow_null=True)
    data = serializers.JSONField(read_only=True)

    class Meta:
        model = TimelineEntry
        fields = [
            "id",
            "kind",
            "kind_label",
            "body",
            "body_html",
            "author",
            "occurred_at",
            "recorded_at",
            "backdate_reason",
            "data",
            "edited_at",
            "struck_at",
            "strike_reason",
        ]
        read_only_fields = fields


class TimelineAddSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[(k, TimelineEntry.Kind(k).label) for k in TimelineEntry.WRITABLE_KINDS]
    )
    body = serializers.CharField(max_length=20000)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    backdate_reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")

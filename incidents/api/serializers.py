"""Shapes of the API. Serializers check the shape of input; services check its meaning."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from incidents.models import ApiToken, Incident, Severity, TimelineEntry, WebhookEvent
from roles.models import IncidentRole, Page, RoleAssignment, Schedule, Service

User = get_user_model()


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk", read_only=True)
    username = serializers.CharField(source="get_username", read_only=True)
    name = serializers.SerializerMethodField()
    email = serializers.EmailField(read_only=True)

    def get_name(self, user) -> str:
        return user.get_full_name() or user.get_username()


class RoleAssignmentSerializer(serializers.ModelSerializer):
    role_label = serializers.CharField(source="get_role_display", read_only=True)
    user = PersonSerializer(read_only=True)
    assigned_by = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = RoleAssignment
        fields = [
            "id",
            "role",
            "role_label",
            "user",
            "assigned_by",
            "started_at",
            "ended_at",
            "handover_note",
        ]
        read_only_fields = fields


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

    @extend_schema_field(RoleAssignmentSerializer(many=True))
    def get_roles(self, incident: Incident) -> list[dict]:
        current = getattr(incident, "current_roles", None)
        if current is None:
            current = list(
                incident.role_assignments.filter(ended_at__isnull=True).select_related("user", "assigned_by")
            )
        return RoleAssignmentSerializer(current, many=True).data


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


class PersonField(serializers.Field):
    """A person by id, e-mail address or username."""

    default_error_messages = {"unknown": "No active person with the id, e-mail or username {value!r}."}

    def to_internal_value(self, data):
        if (
            isinstance(data, bool)
            or not isinstance(data, (int, str))
            or (isinstance(data, str) and not data.strip())
        ):
            raise serializers.ValidationError("Give a person's id, e-mail address or username.")
        people = User.objects.filter(is_active=True)
        if isinstance(data, int) or data.strip().isdigit():
            person = people.filter(pk=int(data)).first()
        else:
            value = data.strip()
            person = people.filter(Q(email__iexact=value) | Q(username=value)).order_by("pk").first()
        if person is None:
            self.fail("unknown", value=data)
        return person

    def to_representation(self, value):
        return value.pk


@extend_schema_field(
    {"oneOf": [{"type": "integer"}, {"type": "string"}], "description": "id, e-mail or username"}
)
class PersonRefField(PersonField):
    pass


class RoleAssignSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=IncidentRole.choices)
    user = PersonRefField()
    handover_note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class RoleReleaseSerializer(serializers.Serializer):
    handover_note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class PageSerializer(serializers.ModelSerializer):
    notified = PersonSerializer(many=True, read_only=True)
    acknowledged_by = PersonSerializer(read_only=True, allow_null=True)
    incident = serializers.IntegerField(source="incident_id", read_only=True)

    class Meta:
        model = Page
        fields = [
            "id",
            "incident",
            "target",
            "service",
            "schedule",
            "role",
            "message",
            "status",
            "level",
            "notified",
            "escalates_at",
            "created_at",
            "acknowledged_by",
            "acknowledged_at",
        ]
        read_only_fields = fields


class PageSendSerializer(serializers.Serializer):
    """Exactly one target: a person, a service (its owners), a schedule (who is on call), or the IC."""

    user = PersonRefField(required=False)
    service = serializers.PrimaryKeyRelatedField(queryset=Service.objects.all(), required=False)
    schedule = serializers.PrimaryKeyRelatedField(queryset=Schedule.objects.all(), required=False)
    incident_commander = serializers.BooleanField(
        required=False, default=False, help_text="Page the primary and backup on-call IC (`!ic page`)."
    )
    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        chosen = [k for k in ("user", "service", "schedule") if attrs.get(k) is not None]
        if attrs.get("incident_commander"):
            chosen.append("incident_commander")
        if len(chosen) != 1:
            raise serializers.ValidationError(
                "Page exactly one of: user, service, schedule, or incident_commander: true."
            )
        return attrs


class ServiceSerializer(serializers.ModelSerializer):
    primary_owner = PersonSerializer(read_only=True, allow_null=True)
    secondary_owner = PersonSerializer(read_only=True, allow_null=True)
    team = serializers.CharField(source="team.name", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Service
        fields = [
            "id",
            "name",
            "description",
            "primary_owner",
            "secondary_owner",
            "team",
            "escalation_minutes",
        ]
        read_only_fields = fields


class OnCallNextSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    primary = PersonSerializer(allow_null=True, source="oncall.primary")
    backup = PersonSerializer(allow_null=True, source="oncall.backup")


class OnCallSerializer(serializers.Serializer):
    schedule_id = serializers.IntegerField(source="schedule.pk")
    schedule = serializers.CharField(source="schedule.name")
    role = serializers.CharField(source="schedule.role", allow_blank=True)
    primary = PersonSerializer(allow_null=True, source="now.primary")
    backup = PersonSerializer(allow_null=True, source="now.backup")
    next = OnCallNextSerializer(allow_null=True)


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once: store it now.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


@extend_schema_field(OpenApiTypes.OBJECT)
class ComponentStatusesField(serializers.DictField):
    pass


class WebhookSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk", read_only=True)
    name = serializers.CharField(read_only=True)
    url = serializers.CharField(source="channel.url", read_only=True)
    events = serializers.ListField(child=serializers.CharField(), read_only=True)
    include_restricted = serializers.BooleanField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class WebhookCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    url = serializers.URLField(max_length=500)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEvent.choices), required=False, allow_empty=False
    )
    secret = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    include_restricted = serializers.BooleanField(required=False, default=False)


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="Verify X-Coolhead-Signature with it; shown once."
    )


class AlertSettingsSerializer(serializers.Serializer):
    integration_key = serializers.CharField(
        source="service.integration_key",
        read_only=True,
        help_text="Alertmanager bearer token / PagerDuty routing_key.",
    )
    severity_label = serializers.CharField(max_length=100)
    severity_map = serializers.DictField(child=serializers.IntegerField(min_value=1, max_value=5))
    default_severity = serializers.ChoiceField(choices=Severity.choices)
    auto_resolve = serializers.BooleanField()
    page_on_call = serializers.BooleanField()

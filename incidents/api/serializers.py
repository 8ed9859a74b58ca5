"""Shapes of the incidents API. Serializers check the shape of input; services check its meaning."""

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.serializers import PersonSerializer
from incidents import hooks
from incidents.models import Change, Decision, Hypothesis, Incident, Severity, TimelineEntry, Verification
from incidents.services.tools import MASKED, change_values_visible_to


class IncidentSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True)
    severity_label = serializers.CharField(read_only=True)
    is_major = serializers.BooleanField(read_only=True)
    declared_by = PersonSerializer(read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()
    api_url = serializers.SerializerMethodField()
    roles = serializers.SerializerMethodField()
    rollback_question_open = serializers.BooleanField(
        read_only=True, help_text="A major incident whose rollback question nobody has answered yet."
    )

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
            "rollback_question_open",
            "rollback_considered",
            "bridge_url",
            "chat_channel",
            "dashboards",
            "runbooks",
            "eta",
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
    settle_changes = serializers.DictField(
        child=serializers.ChoiceField(choices=["keep", "restore"]),
        required=False,
        default=dict,
        help_text="Resolving a major incident: for each change still in place (by id), keep or restore it.",
    )

    def validate_settle_changes(self, value: dict) -> dict[int, str]:
        try:
            return {int(key): choice for key, choice in value.items()}
        except ValueError:
            raise serializers.ValidationError("Keys are change ids.") from None


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


# --- The response tools ---------------------------------------------------------------------------


class HypothesisSerializer(serializers.ModelSerializer):
    raised_by = PersonSerializer(read_only=True, allow_null=True)
    decided_by = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Hypothesis
        fields = [
            "id",
            "statement",
            "state",
            "evidence",
            "evidence_url",
            "evidence_entry",
            "raised_by",
            "raised_at",
            "decided_by",
            "decided_at",
        ]
        read_only_fields = fields


class HypothesisRaiseSerializer(serializers.Serializer):
    statement = serializers.CharField(max_length=500)


class HypothesisDecideSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=[Hypothesis.State.CONFIRMED, Hypothesis.State.RULED_OUT])
    evidence = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    evidence_url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")
    evidence_entry = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="A timeline entry (a finding) here."
    )


class DecisionSerializer(serializers.ModelSerializer):
    decided_by = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Decision
        fields = [
            "id",
            "kind",
            "summary",
            "reason",
            "rollback_to",
            "hypothesis",
            "state",
            "decided_by",
            "decided_at",
            "closed_at",
        ]
        read_only_fields = fields


class DecisionRecordSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Decision.Kind.choices)
    summary = serializers.CharField(max_length=300)
    reason = serializers.CharField(max_length=5000)
    rollback_to = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    hypothesis = serializers.IntegerField(required=False, allow_null=True, default=None)


class DecisionCloseSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=[Decision.State.DONE, Decision.State.ABANDONED])
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ChangeSerializer(serializers.ModelSerializer):
    """A sensitive change's values are masked for everyone but who recorded it and admins."""

    recorded_by = PersonSerializer(read_only=True, allow_null=True)
    settled_by = PersonSerializer(read_only=True, allow_null=True)
    old_value = serializers.SerializerMethodField()
    new_value = serializers.SerializerMethodField()
    values_hidden = serializers.SerializerMethodField()

    class Meta:
        model = Change
        fields = [
            "id",
            "what",
            "where",
            "old_value",
            "new_value",
            "values_hidden",
            "how_to_restore",
            "is_sensitive",
            "state",
            "restores",
            "hypothesis",
            "decision",
            "recorded_by",
            "occurred_at",
            "recorded_at",
            "backdate_reason",
            "settled_by",
            "settled_at",
        ]
        read_only_fields = fields

    def get_values_hidden(self, change: Change) -> bool:
        return not change_values_visible_to(change, self.context.get("viewer"))

    def get_old_value(self, change: Change) -> str:
        return MASKED if self.get_values_hidden(change) else change.old_value

    def get_new_value(self, change: Change) -> str:
        return MASKED if self.get_values_hidden(change) else change.new_value


class ChangeRecordSerializer(serializers.Serializer):
    what = serializers.CharField(max_length=300)
    where = serializers.CharField(max_length=200, help_text="The service, system or config key.")
    old_value = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    new_value = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    how_to_restore = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    is_sensitive = serializers.BooleanField(required=False, default=False)
    hypothesis = serializers.IntegerField(required=False, allow_null=True, default=None)
    decision = serializers.IntegerField(required=False, allow_null=True, default=None)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    backdate_reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class VerificationSerializer(serializers.ModelSerializer):
    checked_by = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Verification
        fields = ["id", "checked", "result", "checked_by", "checked_at"]
        read_only_fields = fields


class VerificationRecordSerializer(serializers.Serializer):
    checked = serializers.CharField(max_length=5000)
    result = serializers.ChoiceField(choices=Verification.Result.choices, default=Verification.Result.PASSED)


class ContactsSerializer(serializers.Serializer):
    bridge_url = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    chat_channel = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    dashboards = serializers.CharField(
        max_length=4000, required=False, allow_blank=True, default="", help_text="One link per line."
    )
    runbooks = serializers.CharField(
        max_length=4000, required=False, allow_blank=True, default="", help_text="One link per line."
    )


class RollbackAnswerSerializer(serializers.Serializer):
    answer = serializers.CharField(max_length=2000)

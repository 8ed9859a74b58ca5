"""Shapes of the roles API: assignments, pages, services and who is on call."""

from rest_framework import serializers

from core.api.serializers import PersonRefField, PersonSerializer
from incidents.models import Decision, Incident
from roles.models import IncidentRole, Page, Proposal, RoleAssignment, Schedule, Service, Task


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


# --- Command and control --------------------------------------------------------------------------


class ProposalSerializer(serializers.ModelSerializer):
    proposed_by = PersonSerializer(read_only=True, allow_null=True)
    decided_by = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Proposal
        fields = [
            "id",
            "action",
            "payload",
            "reason",
            "state",
            "proposed_by",
            "proposed_at",
            "decided_by",
            "decided_at",
            "answer",
            "workstream",
        ]
        read_only_fields = fields


class ProposalMakeSerializer(serializers.Serializer):
    """What you would have the IC do: {"action": "severity", "severity": 1, "reason": ...}."""

    action = serializers.ChoiceField(choices=["status", "severity", "decision", "task"])
    status = serializers.ChoiceField(choices=Incident.Status.choices, required=False)
    severity = serializers.IntegerField(min_value=1, max_value=5, required=False)
    kind = serializers.ChoiceField(choices=Decision.Kind.choices, required=False)
    summary = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    rollback_to = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    title = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    assignee = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, default=None, help_text="For a task; default: you."
    )
    workstream = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        default=None,
        help_text="An open workstream of this incident: its lead answers its members' task proposals.",
    )
    reason = serializers.CharField(max_length=2000)

    def payload(self) -> dict:
        data = self.validated_data
        if data["action"] == "status":
            return {"status": data.get("status")}
        if data["action"] == "severity":
            return {"severity": data.get("severity")}
        if data["action"] == "task":
            return {"title": data["title"], "assignee": data["assignee"]}
        return {"kind": data.get("kind"), "summary": data["summary"], "rollback_to": data["rollback_to"]}


class ProposalAnswerSerializer(serializers.Serializer):
    answer = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class TaskSerializer(serializers.ModelSerializer):
    assignee = PersonSerializer(read_only=True)

    class Meta:
        model = Task
        fields = ["id", "title", "assignee", "state", "due_at", "workstream", "created_at", "updated_at"]
        read_only_fields = fields


class TaskAssignSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=300)
    assignee = PersonRefField()
    due_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    workstream = serializers.IntegerField(required=False, allow_null=True, default=None)


class TaskMoveSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=Task.State.choices)

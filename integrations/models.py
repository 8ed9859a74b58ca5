"""What other software sends us (alerts, Slack commands) and what we send it (outgoing webhooks).

The incident each alert group opens lives in incidents; this app keeps how a
service's alerts become incidents, which alerts were seen, who subscribed to
incident events, and which Slack channels follow an incident.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from incidents.models import Incident, Severity


def default_alert_severity_map() -> dict[str, int]:
    # Alertmanager `severity` label values and PagerDuty's payload.severity.
    return {"critical": 2, "error": 3, "warning": 4, "info": 5}


class AlertSettings(models.Model):
    """How a service's alerts become incidents (without settings, the defaults apply)."""

    service = models.OneToOneField("roles.Service", on_delete=models.CASCADE, related_name="alert_settings")
    severity_label = models.CharField(
        max_length=100, default="severity", help_text="The Alertmanager label whose value picks the severity."
    )
    severity_map = models.JSONField(
        default=default_alert_severity_map,
        help_text='Label value (or PagerDuty severity) to SEV number, e.g. {"critical": 1, "warning": 4}.',
    )
    default_severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.SEV3)
    auto_resolve = models.BooleanField(
        default=False, help_text="Resolve the incident when its alerts clear (otherwise a person decides)."
    )
    page_on_call = models.BooleanField(
        default=True, help_text="Page the service's on-call for a new incident."
    )

    class Meta:
        verbose_name = "alert settings"
        verbose_name_plural = "alert settings"

    def __str__(self) -> str:
        return f"Alert settings of {self.service}"

    def severity_for(self, value: str | None) -> int:
        mapped = self.severity_map.get((value or "").lower()) if isinstance(self.severity_map, dict) else None
        return mapped if mapped in Severity.values else self.default_severity


class AlertGroup(models.Model):
    """Alerts of one service with one dedup key (PagerDuty) or group key (Alertmanager).

    While a group is open, every event with its key lands on its one incident;
    the partial unique constraint makes that a fact of the database, so that
    concurrent duplicate triggers cannot open two incidents.
    """

    class Source(models.TextChoices):
        ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"
        PAGERDUTY = "pagerduty", "PagerDuty Events API v2"

    class Status(models.TextChoices):
        TRIGGERED = "triggered", "Triggered"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    service = models.ForeignKey("roles.Service", on_delete=models.CASCADE, related_name="alert_groups")
    source = models.CharField(max_length=16, choices=Source.choices)
    dedup_key = models.CharField(max_length=255)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="alert_groups")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TRIGGERED)
    summary = models.CharField(max_length=1024, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    last_event_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    event_count = models.PositiveIntegerField(default=1)
    # Alertmanager re-sends the same alerts on every group interval: the alerts
    # already recorded on the timeline ("fingerprint@startsAt"), newest last.
    seen_alerts = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "dedup_key"],
                condition=models.Q(resolved_at__isnull=True),
                name="one_open_alert_group_per_key",
            )
        ]
        indexes = [models.Index(fields=["service", "dedup_key", "-opened_at"])]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.dedup_key[:40]} → INC-{self.incident.number}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class WebhookEvent(models.TextChoices):
    DECLARED = "incident.declared", "Incident declared"
    STATUS_CHANGED = "incident.status_changed", "Status changed"
    SEVERITY_CHANGED = "incident.severity_changed", "Severity changed"
    ROLE_ASSIGNED = "incident.role_assigned", "Role assigned"
    PUBLIC_UPDATE_POSTED = "incident.public_update_posted", "Public update posted"
    RESOLVED = "incident.resolved", "Incident resolved"
    # The response tools (incidents/services/tools.py).
    HYPOTHESIS = "incident.hypothesis", "Hypothesis raised, confirmed or ruled out"
    DECISION = "incident.decision", "Decision recorded or closed"
    CHANGE = "incident.change", "Change made, restored or kept"
    VERIFICATION = "incident.verification", "Verification step recorded"
    CONTACTS = "incident.contacts_changed", "Where to join changed"
    # After the incident (reviews/hooks.py).
    REVIEW_PUBLISHED = "review.published", "Post-incident review published"
    FOLLOW_UP_CREATED = "follow_up.created", "Follow-up created"
    FOLLOW_UP_UPDATED = "follow_up.updated", "Follow-up updated"
    # Affected customers, direct updates, calls and follow-ups (the customers app): customer
    # data, sent only to subscriptions marked include_customer_data.
    CUSTOMERS = "customers.contacted", "Customers contacted (only with customer data included)"


def all_webhook_events() -> list[str]:
    return list(WebhookEvent.values)


class OutgoingWebhook(models.Model):
    """A subscription of a signed webhook (a comms channel) to incident events.

    Events travel through the comms outbox, signed with the channel's secret
    exactly like every other Coolhead webhook.
    """

    name = models.CharField(max_length=100)
    channel = models.ForeignKey(
        "comms.Channel",
        on_delete=models.PROTECT,
        related_name="incident_subscriptions",
        limit_choices_to={"kind": "webhook"},
        help_text="A signed JSON webhook channel: its URL and secret are used.",
    )
    events = models.JSONField(default=all_webhook_events, help_text="Event names this subscriber receives.")
    include_restricted = models.BooleanField(
        default=False, help_text="Also send events of restricted (security) incidents."
    )
    include_customer_data = models.BooleanField(
        default=False,
        help_text="Also send what the customer liaison did with customers (names, calls, updates): "
        "customer data, for a receiver the company trusts with it (a CRM).",
    )
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class SlackStalk(models.Model):
    """`/incident status stalk`: the status is posted to a Slack channel until stopped or resolved."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="slack_stalks")
    slack_channel_id = models.CharField(max_length=40)
    channel = models.ForeignKey("comms.Channel", on_delete=models.CASCADE, related_name="+")
    started_by = models.CharField(max_length=100, blank=True, help_text="Slack user name.")
    started_at = models.DateTimeField(default=timezone.now)
    last_posted_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "slack_channel_id"],
                condition=models.Q(stopped_at__isnull=True),
                name="one_running_stalk_per_channel",
            )
        ]

    def __str__(self) -> str:
        return f"Status of INC-{self.incident.number} to {self.slack_channel_id}"


class SlackIdentity(models.Model):
    """A Slack user, by the id Slack gives them (which they cannot change), acting as a Coolhead person.

    Made once, when the person types a one-time code from their Slack page in
    Slack (`/incident link <code>`): proof of both accounts. Slack user *names*
    can be changed by anyone, so they are kept for display and never matched.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="slack_identities"
    )
    team_id = models.CharField(max_length=40, help_text="The Slack workspace.")
    slack_user_id = models.CharField(max_length=40)
    slack_user_name = models.CharField(max_length=150, blank=True, help_text="When linked; for display only.")
    linked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "Slack identities"
        constraints = [
            models.UniqueConstraint(fields=["team_id", "slack_user_id"], name="one_person_per_slack_user")
        ]

    def __str__(self) -> str:
        return f"Slack {self.team_id}/{self.slack_user_id} → {self.user}"


class SlackLinkCode(models.Model):
    """A one-time code that links the Slack user who types it to this person: stored as a keyed hash only."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    code_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Slack link code of {self.user}"

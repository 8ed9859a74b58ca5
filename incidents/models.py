from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


class Severity(models.IntegerChoices):
    SEV1 = 1, "SEV-1"
    SEV2 = 2, "SEV-2"
    SEV3 = 3, "SEV-3"
    SEV4 = 4, "SEV-4"
    SEV5 = 5, "SEV-5"


# From the PagerDuty severity levels the seeds point to ("See our severity level
# descriptions for what constitutes a major incident").
SEVERITY_DESCRIPTIONS: dict[int, str] = {
    1: "Critical issue that warrants public notification and liaison with executive teams: "
    "the system is in a critical state and actively impacting a large number of customers, "
    "or customer data is exposed.",
    2: "Critical system issue actively impacting many customers' ability to use the product.",
    3: "Stability or minor customer-impacting issues that require immediate attention "
    "from service owners.",
    4: "Minor issues requiring action, but not affecting customers' ability to use the product.",
    5: "Cosmetic issues or bugs, not affecting customers' ability to use the product.",
}

# SEV-1 and SEV-2 are major: full role structure, public and executive comms.
MAJOR_SEVERITIES = frozenset({Severity.SEV1, Severity.SEV2})


class Incident(models.Model):
    class Status(models.TextChoices):
        TRIAGE = "triage", "Triage"
        INVESTIGATING = "investigating", "Investigating"
        IDENTIFIED = "identified", "Identified"
        MONITORING = "monitoring", "Monitoring"
        RESOLVED = "resolved", "Resolved"
        DECLINED = "declined", "Declined"

    OPEN_STATUSES = (Status.TRIAGE, Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING)
    CLOSED_STATUSES = (Status.RESOLVED, Status.DECLINED)

    number = models.PositiveIntegerField(unique=True, editable=False)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True, max_length=10000)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TRIAGE)
    is_security = models.BooleanField(
        "security incident",
        default=False,
        help_text="Restricted: only participants and admins can see it anywhere.",
    )
    deploy_freeze = models.BooleanField(
        default=False, help_text="Developers are asked not to deploy while this is on."
    )
    rollback_considered = models.TextField(
        blank=True,
        max_length=2000,
        help_text="The answer to 'would a rollback fix this?', asked when a major one is declared.",
    )

    detected_at = models.DateTimeField(default=timezone.now)
    declared_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    mitigated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    services = models.ManyToManyField("roles.Service", blank=True, related_name="incidents")
    participants = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Participation", related_name="incidents", blank=True
    )
    # Bumped by every service that changes the incident or its timeline; the
    # live room polls it to know, with one cheap read, whether anything changed.
    revision = models.PositiveIntegerField(default=0, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-number"]
        indexes = [
            models.Index(fields=["status", "severity"]),
            models.Index(fields=["declared_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(severity__gte=1, severity__lte=5), name="incident_severity_1_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.title}"

    @property
    def reference(self) -> str:
        return f"INC-{self.number}"

    @property
    def is_major(self) -> bool:
        return self.severity in MAJOR_SEVERITIES

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def severity_label(self) -> str:
        return Severity(self.severity).label

    @property
    def severity_description(self) -> str:
        return SEVERITY_DESCRIPTIONS[self.severity]

    @property
    def age(self) -> timedelta:
        end = self.resolved_at if self.resolved_at and not self.is_open else timezone.now()
        return end - self.declared_at

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("incident_room", kwargs={"number": self.number})


class IncidentCounter(models.Model):
    """One row that hands out incident numbers without gaps or races."""

    last_number = models.PositiveIntegerField(default=0)


class Participation(models.Model):
    """Who takes part in an incident: they can see it even when it is restricted."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "user"], name="participation_unique")
        ]


class TimelineEntry(models.Model):
    class Kind(models.TextChoices):
        NOTE = "note", "Note"
        FINDING = "finding", "Finding"
        ACTION = "action", "Action taken"
        TODO = "todo", "TODO"
        STATUS = "status", "Status change"
        SEVERITY = "severity", "Severity change"
        ROLE = "role", "Role change"
        PAGE = "page", "Page"
        PUBLIC_UPDATE = "public_update", "Public update"
        ALERT = "alert", "Alert"
        CHANGE = "change", "Change made"
        HYPOTHESIS = "hypothesis", "Hypothesis"
        DECISION = "decision", "Decision"
        VERIFICATION = "verification", "Verification step"

    # What a responder may write by hand; the rest are written by services.
    WRITABLE_KINDS = (
        Kind.NOTE,
        Kind.FINDING,
        Kind.ACTION,
        Kind.TODO,
        Kind.CHANGE,
        Kind.HYPOTHESIS,
        Kind.DECISION,
        Kind.VERIFICATION,
    )

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    body = models.TextField(max_length=20000)
    body_html = models.TextField(editable=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    occurred_at = models.DateTimeField(default=timezone.now)
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)
    backdate_reason = models.CharField(max_length=300, blank=True)
    # Facts the writing service wants to keep in structured form (old/new status...).
    data = models.JSONField(default=dict, blank=True)

    edited_at = models.DateTimeField(null=True, blank=True)
    struck_at = models.DateTimeField(null=True, blank=True)
    struck_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    strike_reason = models.CharField(max_length=300, blank=True)
    # The incident revision at this entry's last change: what a polling room
    # has not seen yet is everything with a higher revision.
    revision = models.PositiveIntegerField(default=0, editable=False)
    revision_created = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "timeline entries"
        indexes = [
            models.Index(fields=["incident", "-occurred_at", "-id"]),
            models.Index(fields=["incident", "revision"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on INC-{self.incident.number}"

    @property
    def is_struck(self) -> bool:
        return self.struck_at is not None

    @property
    def is_backdated(self) -> bool:
        return bool(self.backdate_reason)


class TimelineEntryEdit(models.Model):
    """The text an entry had before an edit: nothing said in a room is lost."""

    entry = models.ForeignKey(TimelineEntry, on_delete=models.CASCADE, related_name="edits")
    previous_body = models.TextField()
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    edited_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-edited_at"]


# --- API tokens and integrations (incidents/api, incidents/integrations) --------------------

API_TOKEN_PREFIX = "chk_"


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is kept: the token itself is shown once.

    Tokens are 256 random bits, so a fast hash is enough (nothing to brute-force),
    and a lookup by hash costs one indexed query per request.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for (a script, a bot...).")
    # The first characters of the token, so that a person recognises it in a list.
    prefix = models.CharField(max_length=16, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


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


def _timeline_entry_written(
    sender, instance: TimelineEntry, created: bool, raw: bool = False, **kwargs
) -> None:
    # Outgoing webhooks follow the timeline: every state change writes exactly
    # one entry (in the same transaction), so the entry is the event.
    if not raw and (created or instance.kind == TimelineEntry.Kind.PUBLIC_UPDATE):
        from incidents.integrations.webhooks import webhooks_for_entry

        webhooks_for_entry(entry=instance)


models.signals.post_save.connect(
    _timeline_entry_written, sender=TimelineEntry, dispatch_uid="incidents-outgoing-webhooks"
)

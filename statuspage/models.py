"""The public face of incidents: components, public updates, maintenance, subscribers.

Nothing here is public until a person publishes it: a PublicIncident exists only
because someone wrote a public update for an incident on purpose, so internal
incidents (and restricted security ones above all) never leak by themselves.
"""

import secrets
import string
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

PUBLIC_ID_ALPHABET = string.ascii_lowercase + string.digits
PUBLIC_ID_LENGTH = 12  # Statuspage's ids are 12 lowercase alphanumerics.


def new_public_id() -> str:
    return "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(PUBLIC_ID_LENGTH))


def new_token() -> str:
    return secrets.token_urlsafe(32)


def validate_time_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not an IANA time zone name (e.g. Europe/Berlin).") from None


class ComponentStatus(models.TextChoices):
    OPERATIONAL = "operational", "Operational"
    DEGRADED_PERFORMANCE = "degraded_performance", "Degraded performance"
    PARTIAL_OUTAGE = "partial_outage", "Partial outage"
    MAJOR_OUTAGE = "major_outage", "Major outage"
    UNDER_MAINTENANCE = "under_maintenance", "Under maintenance"


# How bad a component status is, for roll-ups (a group, the page indicator).
COMPONENT_STATUS_RANK = {
    ComponentStatus.OPERATIONAL: 0,
    ComponentStatus.UNDER_MAINTENANCE: 1,
    ComponentStatus.DEGRADED_PERFORMANCE: 2,
    ComponentStatus.PARTIAL_OUTAGE: 3,
    ComponentStatus.MAJOR_OUTAGE: 4,
}


class IncidentStatus(models.TextChoices):
    INVESTIGATING = "investigating", "Investigating"
    IDENTIFIED = "identified", "Identified"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"
    POSTMORTEM = "postmortem", "Postmortem"


# What a liaison may publish in an update; `postmortem` is set by statuspage_publish_postmortem
# (a published post-incident review), as Statuspage does.
PUBLISHABLE_STATUSES = (
    IncidentStatus.INVESTIGATING,
    IncidentStatus.IDENTIFIED,
    IncidentStatus.MONITORING,
    IncidentStatus.RESOLVED,
)
UNRESOLVED_STATUSES = (IncidentStatus.INVESTIGATING, IncidentStatus.IDENTIFIED, IncidentStatus.MONITORING)


class Impact(models.TextChoices):
    NONE = "none", "None"
    MINOR = "minor", "Minor"
    MAJOR = "major", "Major"
    CRITICAL = "critical", "Critical"


IMPACT_RANK = {Impact.NONE: 0, Impact.MINOR: 1, Impact.MAJOR: 2, Impact.CRITICAL: 3}

# Statuspage's own rule: the impact of an incident follows the worst component status it sets.
IMPACT_FOR_COMPONENT_STATUS = {
    ComponentStatus.OPERATIONAL: Impact.NONE,
    ComponentStatus.UNDER_MAINTENANCE: Impact.NONE,
    ComponentStatus.DEGRADED_PERFORMANCE: Impact.MINOR,
    ComponentStatus.PARTIAL_OUTAGE: Impact.MAJOR,
    ComponentStatus.MAJOR_OUTAGE: Impact.CRITICAL,
}


class MaintenanceStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    IN_PROGRESS = "in_progress", "In progress"
    VERIFYING = "verifying", "Verifying"
    COMPLETED = "completed", "Completed"


ACTIVE_MAINTENANCE_STATUSES = (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)


class PageSettings(models.Model):
    """The one public page: its name, address, time zone and look (a single row, pk=1)."""

    class Theme(models.TextChoices):
        BLUE = "blue", "Blue"
        INDIGO = "indigo", "Indigo"
        TEAL = "teal", "Teal"
        SLATE = "slate", "Slate"
        VIOLET = "violet", "Violet"

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id, editable=False)
    name = models.CharField(max_length=100, default="Coolhead")
    url = models.URLField(
        "public URL",
        blank=True,
        help_text="Where customers reach the page, e.g. https://status.example.com. "
        "Empty: SITE_URL followed by /status.",
    )
    time_zone = models.CharField(max_length=64, default="Etc/UTC", validators=[validate_time_zone])
    theme = models.CharField(max_length=16, choices=Theme.choices, default=Theme.BLUE)
    about = models.TextField(
        blank=True, max_length=2000, help_text="A sentence or two shown under the page name."
    )
    support_url = models.URLField(blank=True, help_text="Where customers get help (shown in the footer).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "page settings"
        verbose_name_plural = "page settings"

    def __str__(self) -> str:
        return self.name

    @property
    def public_url(self) -> str:
        return (self.url or f"{settings.SITE_URL}/status").rstrip("/")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


class Component(models.Model):
    """A part of the product customers care about; a group holds other components."""

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id, editable=False)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, max_length=1000)
    status = models.CharField(
        max_length=24,
        choices=ComponentStatus.choices,
        default=ComponentStatus.OPERATIONAL,
        help_text="Change it here or from a public update; every change is kept for the uptime history.",
    )
    position = models.PositiveIntegerField(default=0, help_text="Order on the page, within its group.")
    is_group = models.BooleanField(
        "group", default=False, help_text="A group shows the components in it; its status is theirs."
    )
    group = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
        limit_choices_to={"is_group": True},
    )
    showcase = models.BooleanField(default=True, help_text="Show the uptime bar.")
    only_show_if_degraded = models.BooleanField(default=False)
    start_date = models.DateField(null=True, blank=True, help_text="Uptime is counted from this day.")
    # The incidents that affect it, as the responders say (incident.components); the
    # public incident's components are what the status page tells customers.
    incidents = models.ManyToManyField("incidents.Incident", blank=True, related_name="components")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.group_id and self.is_group:
            raise ValidationError("A group cannot sit inside another group.")
        if self.group_id and self.group_id == self.pk:
            raise ValidationError("A component cannot be its own group.")


class ComponentStatusChange(models.Model):
    """Every status a component went through: the uptime bars are computed from these."""

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="status_changes")
    old_status = models.CharField(max_length=24, choices=ComponentStatus.choices)
    new_status = models.CharField(max_length=24, choices=ComponentStatus.choices)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    public_update = models.ForeignKey(
        "PublicUpdate", null=True, blank=True, on_delete=models.SET_NULL, related_name="component_changes"
    )
    maintenance = models.ForeignKey(
        "Maintenance", null=True, blank=True, on_delete=models.SET_NULL, related_name="component_changes"
    )

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [models.Index(fields=["changed_at"]), models.Index(fields=["component", "changed_at"])]

    def __str__(self) -> str:
        return f"{self.component}: {self.old_status} → {self.new_status}"


class PublicIncident(models.Model):
    """What customers see of an incident: its own title, status and updates."""

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id, editable=False)
    incident = models.OneToOneField(
        "incidents.Incident", on_delete=models.CASCADE, related_name="public_incident"
    )
    name = models.CharField("public title", max_length=200)
    status = models.CharField(max_length=16, choices=IncidentStatus.choices)
    impact = models.CharField(max_length=16, choices=Impact.choices, default=Impact.NONE)
    components = models.ManyToManyField(Component, blank=True, related_name="public_incidents")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(default=timezone.now)
    monitoring_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # The customer-facing postmortem (from a published review); the status becomes `postmortem`.
    postmortem_body = models.TextField(blank=True, max_length=10000)
    postmortem_published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status"]), models.Index(fields=["-created_at"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_resolved(self) -> bool:
        return self.status not in UNRESOLVED_STATUSES


class PublicUpdate(models.Model):
    """One published update of a public incident (Statuspage's incident_update)."""

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id, editable=False)
    public_incident = models.ForeignKey(PublicIncident, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(max_length=16, choices=IncidentStatus.choices)
    body = models.TextField(max_length=10000)
    # [{code, name, old_status, new_status}], as published; kept even if components are renamed later.
    affected_components = models.JSONField(default=list, blank=True)
    deliver_notifications = models.BooleanField(default=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Set when every subscriber's message is in the outbox; the tick re-sends a lost fan-out.
    notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    timeline_entry = models.ForeignKey(
        "incidents.TimelineEntry", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    display_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-display_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_status_display()}: {self.body[:60]}"


class UpdateTemplate(models.Model):
    """The starting text of a public update, one per status."""

    status = models.CharField(max_length=16, choices=IncidentStatus.choices, unique=True)
    body = models.TextField(max_length=10000)

    class Meta:
        ordering = ["status"]

    def __str__(self) -> str:
        return f"Template: {self.get_status_display()}"


class Maintenance(models.Model):
    """A planned window of work, started and completed on time by Celery beat."""

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id, editable=False)
    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=16, choices=MaintenanceStatus.choices, default=MaintenanceStatus.SCHEDULED
    )
    components = models.ManyToManyField(Component, blank=True, related_name="maintenances")
    scheduled_for = models.DateTimeField()
    scheduled_until = models.DateTimeField()
    auto_start = models.BooleanField(default=True, help_text="Start it at the scheduled time.")
    auto_complete = models.BooleanField(default=True, help_text="Complete it at the end of the window.")
    # Component statuses before the window, restored when it completes.
    statuses_before = models.JSONField(default=dict, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-scheduled_for", "-id"]
        indexes = [models.Index(fields=["status", "scheduled_for"])]
        verbose_name_plural = "maintenances"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scheduled_until__gt=models.F("scheduled_for")),
                name="maintenance_window_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_MAINTENANCE_STATUSES


class MaintenanceUpdate(models.Model):
    public_id = models.CharField(max_length=12, unique=True, default=new_public_id, editable=False)
    maintenance = models.ForeignKey(Maintenance, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(max_length=16, choices=MaintenanceStatus.choices)
    body = models.TextField(max_length=10000)
    affected_components = models.JSONField(default=list, blank=True)
    deliver_notifications = models.BooleanField(default=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Set when every subscriber's message is in the outbox; the tick re-sends a lost fan-out.
    notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    display_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-display_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_status_display()}: {self.body[:60]}"


class Subscriber(models.Model):
    """Someone who wants to hear about incidents, by e-mail or webhook (double opt-in)."""

    class Kind(models.TextChoices):
        EMAIL = "email", "E-mail"
        WEBHOOK = "webhook", "Webhook"

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id, editable=False)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    # Confirmation always goes by e-mail; webhook failures would be reported there too.
    email = models.EmailField(max_length=254)
    webhook_url = models.URLField(max_length=500, blank=True)
    # None: every component. Otherwise only incidents touching one of these.
    components = models.ManyToManyField(Component, blank=True, related_name="subscribers")
    # The secret in the confirm and unsubscribe links.
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["email"],
                condition=models.Q(kind="email", unsubscribed_at__isnull=True),
                name="one_live_email_subscription",
            ),
            models.UniqueConstraint(
                fields=["webhook_url"],
                condition=models.Q(kind="webhook", unsubscribed_at__isnull=True),
                name="one_live_webhook_subscription",
            ),
        ]

    def __str__(self) -> str:
        return self.webhook_url if self.kind == self.Kind.WEBHOOK else self.email

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None

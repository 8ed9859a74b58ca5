import secrets
import uuid
import zoneinfo
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from comms import addresses
from incidents.models import ContactLinks


class IncidentRole(models.TextChoices):
    INCIDENT_COMMANDER = "incident_commander", "Incident Commander"
    DEPUTY = "deputy", "Deputy"
    SCRIBE = "scribe", "Scribe"
    SUBJECT_MATTER_EXPERT = "sme", "Subject Matter Expert"
    CUSTOMER_LIAISON = "customer_liaison", "Customer Liaison"
    INTERNAL_LIAISON = "internal_liaison", "Internal Liaison"
    # For smaller incidents: one person does it all (the "Steps for On-Call Person").
    ON_CALL = "on_call", "On-call Responder"


# Roles one person holds at a time; subject-matter experts may be many.
SINGLE_HOLDER_ROLES = frozenset(IncidentRole.values) - {IncidentRole.SUBJECT_MATTER_EXPERT}


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin).") from None


def default_timezone() -> str:
    return settings.TIME_ZONE


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


def default_working_days() -> list[int]:
    return [0, 1, 2, 3, 4]


def validate_working_days(value: list) -> None:
    if not isinstance(value, list) or not all(isinstance(d, int) and 0 <= d <= 6 for d in value):
        raise ValidationError("Working days are weekday numbers, 0 (Monday) to 6 (Sunday).")


class Profile(models.Model):
    """How to reach a person and when their working day ends."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    timezone = models.CharField(max_length=64, default=default_timezone, validators=[validate_timezone])
    working_days = models.JSONField(
        default=default_working_days,
        validators=[validate_working_days],
        help_text="Weekdays this person works, 0 = Monday … 6 = Sunday.",
    )
    work_start = models.TimeField(default=time(9, 0), help_text="In the person's own time zone.")
    work_end = models.TimeField(
        default=time(17, 0),
        help_text="In the person's own time zone. An end before the start means the day ends after midnight.",
    )
    phone = models.CharField(max_length=40, blank=True)
    contact = models.TextField(
        blank=True, help_text="Other ways to reach this person (chat handle, pager...)."
    )
    has_production_access = models.BooleanField(default=False)
    # Taking the Incident Commander role yourself needs this, a place on an IC
    # schedule, or being an admin (roles/permissions.py may_take_command).
    is_trained_incident_commander = models.BooleanField(
        "trained incident commander",
        default=False,
        help_text="May take the Incident Commander role on their own, without being on an IC schedule.",
    )
    webhook_url = models.URLField(
        "personal webhook URL",
        blank=True,
        max_length=500,
        help_text="Optional: pages and prompts are also posted here (e.g. a personal chat webhook).",
    )

    def __str__(self) -> str:
        return f"Profile of {self.user}"

    @staticmethod
    def zone_cache_key(user_id: int) -> str:
        """Where the person's zone is cached for their pages (roles/viewer_zone.py)."""
        return f"viewer-zone:{user_id}"

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        # Their pages show times in the new zone from the next request on.
        try:
            cache.delete(self.zone_cache_key(self.user_id))
        except Exception:  # noqa: BLE001 - a cache outage: the cached zone expires within a day
            pass

    def clean(self) -> None:
        # The outbound rule, as far as it goes without DNS: comms checks again
        # where the name resolves to each time it posts.
        refusal = addresses.url_refusal(self.webhook_url) if self.webhook_url else None
        if refusal is not None:
            raise ValidationError({"webhook_url": refusal})

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def working_day_end(self, day: date) -> datetime | None:
        """When the working day that starts on `day` (local) ends, or None when it is a day off."""
        if day.weekday() not in self.working_days:
            return None
        end_day = day + timedelta(days=1) if self.work_end <= self.work_start else day
        return datetime.combine(end_day, self.work_end, tzinfo=self.tz)

    def is_out_of_office(self, when: datetime) -> bool:
        return any(period.starts_at <= when < period.ends_at for period in self.out_of_office.all())


class OutOfOffice(models.Model):
    """A period when paging skips this person."""

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="out_of_office")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["starts_at"]
        verbose_name = "out-of-office period"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="ooo_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.profile.user} out of office {self.starts_at:%Y-%m-%d} – {self.ends_at:%Y-%m-%d}"

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError("An out-of-office period ends after it starts.")


class Team(models.Model):
    """People who work together; stakeholder groups ("SEV-1 Stakeholders") are teams too."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="teams")
    stakeholder_for = models.JSONField(
        "stakeholders for severities",
        default=list,
        blank=True,
        help_text="Executive summaries of incidents with these severities go to this team.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def generate_integration_key() -> str:
    # 32 characters, like a PagerDuty routing key.
    return secrets.token_hex(16)


class Service(ContactLinks):
    """An area of expertise, with the people to page when it breaks.

    Its contact links (bridge, chat, dashboards, runbooks) are the defaults a new
    incident of the service inherits."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    primary_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    secondary_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="services")
    integration_key = models.CharField(
        max_length=64,
        unique=True,
        default=generate_integration_key,
        help_text="Monitoring sends alerts with this key (PagerDuty routing key, Alertmanager bearer token).",
    )
    escalation_minutes = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(1)],
        help_text="A page not acknowledged within this many minutes goes to the next person.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OnCallLevel(models.IntegerChoices):
    PRIMARY = 1, "Primary"
    BACKUP = 2, "Backup"


class Schedule(models.Model):
    """An on-call roster, for a team or for an incident role."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="schedules")
    role = models.CharField(
        max_length=32,
        choices=IncidentRole.choices,
        blank=True,
        help_text='The incident role this roster staffs: "Page IC" uses the Incident Commander roster.',
    )
    escalation_minutes = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(1)],
        help_text="A page not acknowledged within this many minutes goes to the next person.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RotationLayer(models.Model):
    """People taking turns, each for one shift, handing off at a local wall-clock time.

    Shifts are counted in the layer's time zone on the wall clock: a 24-hour
    shift handing off at 09:00 hands off at 09:00 local on both sides of a
    daylight-saving change (so that shift is 23 or 25 real hours long).
    """

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="layers")
    level = models.PositiveSmallIntegerField(
        choices=OnCallLevel.choices,
        default=OnCallLevel.PRIMARY,
        help_text="Primary or backup. Without a backup layer, the backup is the next person "
        "of the primary rotation.",
    )
    name = models.CharField(max_length=100, blank=True)
    timezone = models.CharField(max_length=64, default=default_timezone, validators=[validate_timezone])
    start_date = models.DateField(
        help_text="The first person's first shift starts this day at the hand-off time."
    )
    handoff_time = models.TimeField(default=time(9, 0), help_text="Local time in the layer's time zone.")
    shift_hours = models.PositiveIntegerField(
        default=24 * 7,
        validators=[MinValueValidator(1)],
        help_text="Shift length in wall-clock hours: 24 is daily, 168 weekly.",
    )

    class Meta:
        ordering = ["schedule", "level", "pk"]

    def __str__(self) -> str:
        return self.name or f"{self.schedule} – {self.get_level_display()}"

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class LayerMember(models.Model):
    layer = models.ForeignKey(RotationLayer, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"{self.position}. {self.user}"


OVERRIDE_RULE = (
    "Overlapping overrides: for each level (primary, backup), the override created most recently "
    "wins for the time they overlap; outside an override the rotation applies."
)


class Override(models.Model):
    """Someone covers a window of a schedule instead of the rotation."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="overrides")
    level = models.PositiveSmallIntegerField(
        choices=OnCallLevel.choices, default=OnCallLevel.PRIMARY, help_text=OVERRIDE_RULE
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="override_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} covers {self.schedule} ({self.get_level_display()})"

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError("An override ends after it starts.")


class RoleAssignment(models.Model):
    """Someone holding a role on an incident, from started_at until ended_at."""

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="role_assignments"
    )
    role = models.CharField(max_length=32, choices=IncidentRole.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="role_assignments"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    handover_note = models.TextField(blank=True)
    # Keys of the role's checklist items (roles.checklists) this holder has ticked.
    checklist_done = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["started_at"]
        constraints = [
            # The database, not luck, keeps one current holder of a single-holder
            # role, and one current assignment of a person to the same role.
            models.UniqueConstraint(
                fields=["incident", "role"],
                condition=models.Q(ended_at__isnull=True) & ~models.Q(role="sme"),
                name="one_current_holder_per_role",
            ),
            models.UniqueConstraint(
                fields=["incident", "role", "user"],
                condition=models.Q(ended_at__isnull=True),
                name="one_current_assignment_per_person_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.user}"

    @property
    def is_current(self) -> bool:
        return self.ended_at is None


class Page(models.Model):
    """A call for help to a person, a service's owners or an on-call schedule.

    `steps` is the escalation chain: each step a list of user ids notified
    together. `escalation_token` changes whenever the page moves on, so that a
    delayed escalation run for an earlier step finds a different token and
    does nothing.
    """

    class Target(models.TextChoices):
        PERSON = "person", "Person"
        SERVICE = "service", "Service"
        SCHEDULE = "schedule", "Schedule"
        INCIDENT_COMMANDER = "ic", "Incident Commander"

    class Status(models.TextChoices):
        TRIGGERED = "triggered", "Waiting for acknowledgement"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        EXHAUSTED = "exhausted", "Nobody acknowledged"
        CANCELLED = "cancelled", "Cancelled"

    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="pages")
    target = models.CharField(max_length=16, choices=Target.choices)
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.SET_NULL, related_name="pages"
    )
    schedule = models.ForeignKey(
        Schedule, null=True, blank=True, on_delete=models.SET_NULL, related_name="pages"
    )
    role = models.CharField(
        max_length=32,
        choices=IncidentRole.choices,
        blank=True,
        help_text="Acknowledging takes this role if empty.",
    )
    message = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TRIGGERED)
    steps = models.JSONField(default=list)
    level = models.PositiveSmallIntegerField(default=0, help_text="Index of the step notified last.")
    notified = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="pages_received")
    escalation_minutes = models.PositiveSmallIntegerField(default=5)
    escalates_at = models.DateTimeField(null=True, blank=True)
    escalation_token = models.UUIDField(default=uuid.uuid4)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "escalates_at"])]

    def __str__(self) -> str:
        return f"Page #{self.pk} on {self.incident_id} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.TRIGGERED


class ExecutiveSummary(models.Model):
    """A summary the internal liaison sent to the stakeholder teams."""

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="executive_summaries"
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(default=timezone.now)
    severity = models.PositiveSmallIntegerField()
    body = models.TextField(max_length=10000)
    next_step = models.CharField(max_length=500, blank=True)
    teams = models.ManyToManyField(Team, blank=True, related_name="+")

    class Meta:
        ordering = ["-sent_at", "-pk"]
        verbose_name_plural = "executive summaries"

    def __str__(self) -> str:
        return f"Executive summary for {self.incident_id} at {self.sent_at:%Y-%m-%d %H:%M}"


# --- Command and control: proposals, tasks, workstreams ---------------------------------------------


class Proposal(models.Model):
    """ "Announce all suggestions for resolution to the incident commander, it is their decision":
    an action someone asks the IC or deputy to take, approved (and done) or rejected."""

    class Action(models.TextChoices):
        STATUS = "status", "Change the status"
        SEVERITY = "severity", "Change the severity"
        DECISION = "decision", "Take a repair decision"
        PUBLIC_UPDATE = "public_update", "Publish a public update"
        TASK = "task", "Give a task"

    class State(models.TextChoices):
        OPEN = "open", "Waiting for the IC"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"

    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="proposals")
    action = models.CharField(max_length=16, choices=Action.choices)
    # What the action would be done with: {"status": ...}, {"severity": ...}, a decision's fields,
    # a task's {"title": ..., "assignee": <user id>}.
    payload = models.JSONField(default=dict)
    reason = models.TextField(max_length=2000)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    proposed_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    answer = models.TextField(
        max_length=2000, blank=True, help_text="Why it was rejected, or a word on approval."
    )
    workstream = models.ForeignKey(
        "Workstream", null=True, blank=True, on_delete=models.SET_NULL, related_name="proposals"
    )

    class Meta:
        ordering = ["proposed_at", "pk"]
        indexes = [models.Index(fields=["incident", "state"])]

    def __str__(self) -> str:
        return f"{self.get_action_display()} ({self.get_state_display().lower()})"

    @property
    def is_open(self) -> bool:
        return self.state == self.State.OPEN


class Workstream(models.Model):
    """A sub-team, when the span of control is exceeded: a lead, a goal, members and their tasks."""

    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="workstreams")
    name = models.CharField(max_length=100)
    goal = models.CharField(max_length=300)
    lead = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="workstreams")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "name"],
                condition=models.Q(closed_at__isnull=True),
                name="one_open_workstream_name",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Task(models.Model):
    """Work for now, given to one participant (TODO entries are for after the incident)."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        DOING = "doing", "Doing"
        DONE = "done", "Done"
        DROPPED = "dropped", "Dropped"

    ACTIVE_STATES = (State.OPEN, State.DOING)

    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=300)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="incident_tasks"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    due_at = models.DateTimeField(null=True, blank=True)
    workstream = models.ForeignKey(
        Workstream, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["assignee", "state"]), models.Index(fields=["incident", "state"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES


# --- On-call calendar: feeds, shift swaps, a schedule's history ----------------------------------


def generate_feed_key() -> str:
    return secrets.token_hex(16)


class CalendarFeed(models.Model):
    """The secret address of an iCalendar feed: one person's shifts, or one schedule's.

    Only `key` is stored; the address carries the key and an HMAC of it made with
    SECRET_KEY (roles.calendars.feed_token), so a copy of the database alone opens
    no feed. Rotating gives a new key: the old address stops working at once.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="calendar_feed",
    )
    schedule = models.OneToOneField(
        Schedule, null=True, blank=True, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    key = models.CharField(max_length=32, unique=True, default=generate_feed_key, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    rotated_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, schedule__isnull=True)
                | models.Q(user__isnull=True, schedule__isnull=False),
                name="calendar_feed_of_a_person_or_a_schedule",
            )
        ]

    def __str__(self) -> str:
        return f"Calendar feed of {self.user or self.schedule}"


class ShiftSwap(models.Model):
    """A responder asks a colleague to cover part of their shift; accepting writes an Override."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Waiting for the colleague"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        CANCELLED = "cancelled", "Cancelled"

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="swaps")
    level = models.PositiveSmallIntegerField(choices=OnCallLevel.choices, default=OnCallLevel.PRIMARY)
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    colleague = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    decided_at = models.DateTimeField(null=True, blank=True)
    override = models.OneToOneField(
        Override, null=True, blank=True, on_delete=models.SET_NULL, related_name="swap"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["colleague", "status"]), models.Index(fields=["requester", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="swap_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"Swap #{self.pk}: {self.colleague} covers {self.requester} on {self.schedule}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.REQUESTED


class ScheduleEvent(models.Model):
    """A schedule's history: swaps asked for, accepted, declined or cancelled; feeds rotated."""

    class Kind(models.TextChoices):
        SWAP_REQUESTED = "swap_requested", "Swap requested"
        SWAP_ACCEPTED = "swap_accepted", "Swap accepted"
        SWAP_DECLINED = "swap_declined", "Swap declined"
        SWAP_CANCELLED = "swap_cancelled", "Swap cancelled"
        FEED_ROTATED = "feed_rotated", "Calendar address rotated"

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="history")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.CharField(max_length=500)
    swap = models.ForeignKey(
        ShiftSwap, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["schedule", "-created_at"])]

    def __str__(self) -> str:
        return self.text


# --- Personal notification rules ----------------------------------------------------------------


class Urgency(models.TextChoices):
    """Rules are kept per urgency: a major incident (SEV-1/2) may wake people up, others may wait."""

    MAJOR = "major", "Major incidents (SEV-1, SEV-2)"
    OTHER = "other", "Other incidents (SEV-3 to SEV-5)"


class NotificationRule(models.Model):
    """One step of a person's rules: "when I am paged for a major incident, SMS after 2 minutes".

    The steps of one urgency run from the moment the person is paged until the
    page is acknowledged (by anyone, anywhere: link, room, API, Slack). With
    no step for an urgency, a page goes to the bell, e-mail and the personal
    webhook at once, as it always did.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_rules"
    )
    urgency = models.CharField(max_length=8, choices=Urgency.choices)
    # Empty: e-mail to the account's address (built in).
    contact_method = models.ForeignKey(
        "comms.ContactMethod",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notification_rules",
        help_text="Empty: e-mail to the account's address.",
    )
    delay_minutes = models.PositiveSmallIntegerField(
        default=0, help_text="Minutes after the page; 0 is at once (at most 1440)."
    )

    class Meta:
        ordering = ["user", "urgency", "delay_minutes", "pk"]
        indexes = [models.Index(fields=["user", "urgency"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(delay_minutes__lte=1440), name="rule_delay_at_most_a_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method_name} after {self.delay_minutes} min ({self.get_urgency_display()})"

    @property
    def method_name(self) -> str:
        return self.contact_method.label if self.contact_method_id else "E-mail"

    def clean(self) -> None:
        if self.contact_method_id and self.user_id and self.contact_method.user_id != self.user_id:
            raise ValidationError({"contact_method": "A rule uses the person's own contact methods only."})


class PageNotification(models.Model):
    """One step of a person's rules for one page: sent at its time unless the page was acknowledged.

    `token` changes whenever the step is sent or stopped, so that a delayed
    countdown run (or the beat sweep racing it) finds a different token and
    does nothing: the step is sent once.
    """

    class State(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        SENT = "sent", "Sent"
        STOPPED = "stopped", "Stopped"

    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="notifications")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    level = models.PositiveSmallIntegerField(help_text="The page's escalation step that reached this person.")
    position = models.PositiveSmallIntegerField(help_text="The rule's step, in order.")
    urgency = models.CharField(max_length=8, choices=Urgency.choices)
    contact_method = models.ForeignKey(
        "comms.ContactMethod", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by_email = models.BooleanField(default=False, help_text="To the account's e-mail address.")
    method_name = models.CharField(max_length=100, help_text="What the step used, as the person named it.")
    delay_minutes = models.PositiveSmallIntegerField()
    due_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.SCHEDULED)
    token = models.UUIDField(default=uuid.uuid4)
    message = models.ForeignKey(
        "comms.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True, help_text="Why it was stopped.")

    class Meta:
        ordering = ["page", "level", "user", "position"]
        indexes = [models.Index(fields=["state", "due_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["page", "level", "user", "position"], name="one_step_per_page_level"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method_name} to {self.user} for page #{self.page_id} ({self.get_state_display()})"

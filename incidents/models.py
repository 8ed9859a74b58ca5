from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

from incidents import hooks


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


def validate_link_lines(value: str) -> None:
    """One http(s) link per line, optionally "label https://...": dashboards and runbooks."""
    for line in value.splitlines():
        if line.strip() and not link_of(line).startswith(("http://", "https://")):
            raise ValidationError(f"Each line needs an http(s) link: {line.strip()[:80]!r}")


def link_of(line: str) -> str:
    return line.strip().rsplit(None, 1)[-1] if line.strip() else ""


class ContactLinks(models.Model):
    """Where to join: "anyone is free to join the call or chat". Incidents have them, and
    services carry defaults that a new incident of the service inherits."""

    bridge_url = models.URLField("call bridge", max_length=500, blank=True)
    chat_channel = models.CharField(
        max_length=200, blank=True, help_text="Where the incident is worked in chat, e.g. #inc-checkout."
    )
    dashboards = models.TextField(
        blank=True, max_length=4000, validators=[validate_link_lines], help_text="One link per line."
    )
    runbooks = models.TextField(
        blank=True, max_length=4000, validators=[validate_link_lines], help_text="One link per line."
    )

    CONTACT_FIELDS = ("bridge_url", "chat_channel", "dashboards", "runbooks")

    class Meta:
        abstract = True

    @property
    def has_contacts(self) -> bool:
        return any(getattr(self, name) for name in self.CONTACT_FIELDS) or bool(self.status_page_url)

    @property
    def status_page_url(self) -> str:
        """Where customers follow it; only an incident has one (Incident.status_page_url)."""
        return ""

    def join_text(self) -> str:
        """Where to join, as Markdown for messages about the incident ("join the call"); "" when none."""
        parts = []
        if self.bridge_url:
            parts.append(f"call: {self.bridge_url}")
        if self.chat_channel:
            parts.append(f"chat: {self.chat_channel}")
        parts += [f"{label}: {url}" if label != url else url for label, url in self.dashboard_links]
        parts += [f"runbook {label}: {url}" if label != url else url for label, url in self.runbook_links]
        if self.status_page_url:
            parts.append(f"status page: {self.status_page_url}")
        return ("**Where to join:** " + " · ".join(parts)) if parts else ""

    def join_document(self) -> dict:
        """The same for webhooks and message context."""
        return {
            "bridge_url": self.bridge_url,
            "chat_channel": self.chat_channel,
            "dashboards": [url for _label, url in self.dashboard_links],
            "runbooks": [url for _label, url in self.runbook_links],
            "status_page": self.status_page_url,
        }

    @property
    def dashboard_links(self) -> list[tuple[str, str]]:
        return self.link_list("dashboards")

    @property
    def runbook_links(self) -> list[tuple[str, str]]:
        return self.link_list("runbooks")

    def link_list(self, name: str) -> list[tuple[str, str]]:
        """(label, url) per line of dashboards or runbooks."""
        out = []
        for line in getattr(self, name).splitlines():
            url = link_of(line)
            if url:
                label = line.strip()[: -len(url)].strip() or url
                out.append((label, url))
        return out


class Incident(ContactLinks):
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
        help_text="The answer to 'would a rollback fix this?', asked whenever the incident becomes major.",
    )
    # Set when the incident becomes major (declared, raised, opened by an alert or
    # the API) and nobody has answered the rollback question yet (cal.com step 6).
    rollback_asked_at = models.DateTimeField(null=True, blank=True)
    # The last reopen: a verification recorded before it does not count for the all-clear.
    reopened_at = models.DateTimeField(null=True, blank=True)
    # Since when the incident is major (SEV-1/2), set by the rise that made it so and
    # cleared when it is lowered: what happens when an incident becomes major happens
    # once per rise, and the summary and public-update cadences count from here.
    major_since = models.DateTimeField(null=True, blank=True)
    # The estimated time to fix, as told to customers ("if you have an approximate ETA to
    # fix, include that"); every change is on the timeline with the previous value
    # (incidents.services.incident_set_eta). `eta_set_at`: when it was last set or moved.
    eta = models.DateTimeField("ETA to fix", null=True, blank=True)
    eta_set_at = models.DateTimeField(null=True, blank=True)

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
    def rollback_question_open(self) -> bool:
        return self.rollback_asked_at is not None and not self.rollback_considered.strip()

    @property
    def status_page_url(self) -> str:
        """The public status page's page of this incident once something is published there
        (statuspage registers the lookup, incidents/hooks.py); "" before."""
        return hooks.status_page_link(self)

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
        PROPOSAL = "proposal", "Proposal"
        TASK = "task", "Task"
        ETA = "eta", "ETA"
        # Affected customers, direct updates to them, calls and follow-ups (the customers app).
        CUSTOMER = "customer", "Customers"

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
    # Written by a service (status, severity, roles, freeze, pages, the response
    # tools): the record of what the portal did, which nobody edits or strikes.
    by_portal = models.BooleanField(default=False)

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


# --- The response tools (lessons-learned essay, cal.com handbook) ------------------------------


class Hypothesis(models.Model):
    """"Validate hypotheses before trying a solution": a suspicion, until evidence decides it."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        CONFIRMED = "confirmed", "Confirmed"
        RULED_OUT = "ruled_out", "Ruled out"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="hypotheses")
    statement = models.CharField(max_length=500)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    # What decided it: text, a link, or a finding on the timeline.
    evidence = models.TextField(blank=True, max_length=5000)
    evidence_url = models.URLField(max_length=500, blank=True)
    evidence_entry = models.ForeignKey(
        TimelineEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    raised_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "hypotheses"
        ordering = ["raised_at", "pk"]
        indexes = [models.Index(fields=["incident", "state"])]

    def __str__(self) -> str:
        return f"{self.statement} ({self.get_state_display().lower()})"

    @property
    def is_open(self) -> bool:
        return self.state == self.State.OPEN


class Decision(models.Model):
    """"Fix, patch, workaround or rollback", with the reason; several may be tried in parallel."""

    class Kind(models.TextChoices):
        FIX = "fix", "Fix"
        PATCH = "patch", "Patch"
        WORKAROUND = "workaround", "Workaround"
        ROLLBACK = "rollback", "Rollback"

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        DONE = "done", "Done"
        ABANDONED = "abandoned", "Abandoned"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="decisions")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    summary = models.CharField(max_length=300, help_text="What we are going to do.")
    reason = models.TextField(max_length=5000)
    rollback_to = models.CharField(
        max_length=300, blank=True, help_text="For a rollback: the version or state rolled back to."
    )
    hypothesis = models.ForeignKey(
        Hypothesis, null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["decided_at", "pk"]
        indexes = [models.Index(fields=["incident", "state"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.summary}"


class Change(models.Model):
    """"If I change an environment variable, save the old value": what changed, where, and how to undo it."""

    class State(models.TextChoices):
        IN_PLACE = "in_place", "In place"
        REVERTED = "reverted", "Reverted"
        KEPT = "kept", "Kept"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="changes")
    what = models.CharField(max_length=300)
    where = models.CharField(max_length=200, help_text="The service, system or config key.")
    old_value = models.TextField(blank=True, max_length=5000)
    new_value = models.TextField(blank=True, max_length=5000)
    how_to_restore = models.TextField(blank=True, max_length=2000)
    # Stored, but shown masked to everyone but who recorded it and admins.
    is_sensitive = models.BooleanField(default=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_PLACE)
    # A restore is a change of its own that undoes this one.
    restores = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="restored_by"
    )
    hypothesis = models.ForeignKey(
        Hypothesis, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes"
    )
    decision = models.ForeignKey(
        Decision, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    occurred_at = models.DateTimeField(default=timezone.now)
    recorded_at = models.DateTimeField(default=timezone.now)
    backdate_reason = models.CharField(max_length=300, blank=True)
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["occurred_at", "pk"]
        indexes = [models.Index(fields=["incident", "state"])]

    def __str__(self) -> str:
        return f"{self.what} ({self.where})"

    @property
    def is_restore(self) -> bool:
        return self.restores_id is not None

    @property
    def is_in_place(self) -> bool:
        return self.state == self.State.IN_PLACE and not self.is_restore


class Verification(models.Model):
    """cal.com step 10: what was checked before the all-clear, by whom, and what it showed."""

    class Result(models.TextChoices):
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="verifications")
    checked = models.TextField(max_length=5000, help_text="What was checked, and how.")
    result = models.CharField(max_length=16, choices=Result.choices, default=Result.PASSED)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    checked_at = models.DateTimeField(default=timezone.now)
    # A step written as a plain timeline entry: striking the entry takes the step back.
    entry = models.OneToOneField(
        TimelineEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="verification_step"
    )

    class Meta:
        ordering = ["checked_at", "pk"]
        indexes = [models.Index(fields=["incident", "result", "checked_at"])]

    def __str__(self) -> str:
        return f"{self.get_result_display()}: {self.checked[:60]}"

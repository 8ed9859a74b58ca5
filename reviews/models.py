"""After an incident: the post-incident review, its follow-ups, and what they are made of.

A review belongs to one incident. What the portal knows (severity and its
changes, roles, milestones, pages, public updates, changes and decisions) is
read from the incident's record whenever the review is shown (reviews.record),
and frozen into `published_record` when the review is published. What people
write (summary, impact, detection, contributing factors with their nested whys,
what went well or badly, where we got lucky, lessons) lives here, and every edit
keeps the previous text (ReviewEdit), as timeline edits do.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from core.markdown import render_markdown


class Review(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        PUBLISHED = "published", "Published"

    # The written sections, in the order a reader meets them, with the question each answers.
    SECTIONS: dict[str, str] = {
        "summary": "Summary",
        "customer_impact": "Customer impact",
        "detection": "Detection: how could we have detected it before it became a problem?",
        "went_well": "What went well",
        "went_badly": "What went badly",
        "lucky": "Where we got lucky",
        "lessons": "Lessons",
    }
    SECTION_MAX = 20000

    incident = models.OneToOneField("incidents.Incident", on_delete=models.CASCADE, related_name="review")
    state = models.CharField(max_length=16, choices=State.choices, default=State.DRAFT)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reviews_owned",
    )
    due_on = models.DateField()

    summary = models.TextField(blank=True, max_length=SECTION_MAX)
    customer_impact = models.TextField(blank=True, max_length=SECTION_MAX)
    detection = models.TextField(blank=True, max_length=SECTION_MAX)
    went_well = models.TextField(blank=True, max_length=SECTION_MAX)
    went_badly = models.TextField(blank=True, max_length=SECTION_MAX)
    lucky = models.TextField(blank=True, max_length=SECTION_MAX)
    lessons = models.TextField(blank=True, max_length=SECTION_MAX)
    # Each written section as safe HTML, rendered once when it is saved (review_write), as a
    # timeline entry's body_html is: Markdown through core.markdown, sanitized. By section name.
    sections_html = models.JSONField(default=dict, blank=True, editable=False)

    # The review meeting; attendees are the participants unless the owner says otherwise.
    meeting_at = models.DateTimeField(null=True, blank=True)
    meeting_minutes = models.PositiveSmallIntegerField(default=60)
    meeting_location = models.CharField(max_length=300, blank=True)
    meeting_attendees = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    # Bumped at every (re)scheduling: calendar clients replace the event with a higher SEQUENCE.
    meeting_sequence = models.PositiveIntegerField(default=0)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The record as it was when published (and again when the incident is resolved after a reopen).
    published_record = models.JSONField(default=dict, blank=True)
    # Customer-facing text published on the status page, if any.
    public_postmortem = models.TextField(blank=True, max_length=10000)
    # Bumped by every change: outgoing webhook events are keyed by it.
    revision = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "due_on"]), models.Index(fields=["owner", "state"])]

    def __str__(self) -> str:
        return f"Review of INC-{self.incident.number}"

    def get_absolute_url(self) -> str:
        return reverse("reviews:review", kwargs={"number": self.incident.number})

    @property
    def is_published(self) -> bool:
        return self.state == self.State.PUBLISHED

    @property
    def is_overdue(self) -> bool:
        return not self.is_published and self.due_on < timezone.localdate()

    def sections(self) -> list[tuple[str, str, str]]:
        """(name, label, text) for each written section."""
        return [(name, label, getattr(self, name)) for name, label in self.SECTIONS.items()]

    def section_html(self, name: str) -> str:
        """A section as safe HTML: as rendered when saved; rendered now if it was written another way."""
        text = getattr(self, name)
        if not text:
            return ""
        rendered = self.sections_html.get(name) if isinstance(self.sections_html, dict) else None
        return rendered if isinstance(rendered, str) else render_markdown(text)


class ReviewEdit(models.Model):
    """The text a section (or a contributing factor) had before an edit: nothing written is lost."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="edits")
    # A section name, or "factor:<id>".
    section = models.CharField(max_length=64)
    previous_text = models.TextField()
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    edited_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-edited_at", "-pk"]


class ContributingFactor(models.Model):
    """One of the things that together made the incident; "why?" is asked again as a nested factor.

    There is no single root-cause field on purpose: incidents have several causes.
    """

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="factors")
    # The factor this one answers "why?" for; None at the top level.
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="whys")
    text = models.TextField(max_length=2000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.text[:80]


class ReviewPin(models.Model):
    """The owner's choice for one timeline entry: in the generated timeline (pinned) or out (unpinned)."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="pins")
    entry = models.ForeignKey("incidents.TimelineEntry", on_delete=models.CASCADE, related_name="+")
    included = models.BooleanField(default=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["review", "entry"], name="one_pin_per_review_entry")]


class ReviewAmendment(models.Model):
    """What was added to a review after it was published; the published text itself stays as it was."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="amendments")
    body = models.TextField(max_length=10000)
    body_html = models.TextField(editable=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]


class FollowUp(models.Model):
    """Work slated for after the incident ("TODO"), with an owner, until it is done or consciously dropped."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        WONT_DO = "wont_do", "Won't do"

    OPEN_STATES = (State.OPEN, State.IN_PROGRESS)
    CLOSED_STATES = (State.DONE, State.WONT_DO)

    class Priority(models.IntegerChoices):
        URGENT = 1, "P1 · urgent"
        HIGH = 2, "P2 · high"
        NORMAL = 3, "P3 · normal"
        LOW = 4, "P4 · low"

    class Source(models.TextChoices):
        REVIEW = "review", "Review"
        TODO = "todo", "TODO in the room"
        DECISION = "decision", "Patch or workaround decision"
        API = "api", "API"

    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="follow_ups")
    review = models.ForeignKey(
        Review, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True, max_length=10000)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    due_on = models.DateField(null=True, blank=True)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    wont_do_reason = models.CharField(max_length=1000, blank=True)
    tracker_url = models.URLField("external tracker URL", max_length=500, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.REVIEW)
    # The TODO entry or the decision it came from: one follow-up each, whatever runs twice.
    source_entry = models.OneToOneField(
        "incidents.TimelineEntry", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_up"
    )
    source_decision = models.OneToOneField(
        "incidents.Decision", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_up"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every change: the follow_up.updated webhook event is keyed by it.
    revision = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["due_on", "priority", "pk"]
        indexes = [
            models.Index(fields=["owner", "state"]),
            models.Index(fields=["state", "due_on"]),
            models.Index(fields=["incident", "state"]),
            models.Index(fields=["created_at"]),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("reviews:follow_up", kwargs={"pk": self.pk})

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_on is not None and self.due_on < timezone.localdate()

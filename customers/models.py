"""Customer organisations, their contacts, and what the portal does with them during an incident.

The MNX guide serves business customers directly: "open a ticket with the customer letting
them know about the outage (with an approximate ETA to fix, if you have one)", "use their
alternate e-mails" when it is a major outage, "call the customer" when the ETA is more than
an hour away, and "follow up with the customer to make sure everything is working from their
end". Customer data is the company's to keep: it is on no public surface, and in no outgoing
webhook that is not marked for it (integrations.OutgoingWebhook.include_customer_data).
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from incidents.models import Incident

# Digits, spaces and the usual separators, with an optional leading "+": what people type.
PHONE_PATTERN = re.compile(r"^\+?[0-9 ()./-]{5,40}$")


def validate_phone(value: str) -> None:
    if value and (not PHONE_PATTERN.match(value) or sum(c.isdigit() for c in value) < 5):
        raise ValidationError("A phone number is digits, spaces and + ( ) - . / (at least five digits).")


def email_domain(address: str) -> str:
    return address.rpartition("@")[2].strip().lower()


class Customer(models.Model):
    """A customer organisation, and the services and components it uses."""

    name = models.CharField(max_length=200, unique=True)
    services = models.ManyToManyField(
        "roles.Service",
        blank=True,
        related_name="customers",
        help_text="An incident affecting one of these affects this customer.",
    )
    components = models.ManyToManyField(
        "statuspage.Component",
        blank=True,
        related_name="customers",
        help_text="An incident affecting one of these affects this customer.",
    )
    notes = models.TextField(
        blank=True,
        max_length=2000,
        help_text="For responders only: the account manager, how they like to hear.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    """A person at a customer: where direct updates go, and whom the liaison calls."""

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        ALTERNATE_EMAIL = "alternate_email", "Alternate e-mail"
        PHONE = "phone", "Phone"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    email = models.EmailField("primary e-mail")
    alternate_email = models.EmailField(
        blank=True,
        help_text="On another domain: during a major outage their business e-mail may be down too.",
    )
    phone = models.CharField(max_length=40, blank=True, validators=[validate_phone])
    preferred_channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["customer", "name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "email"], name="customers_contact_email_per_customer")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.customer})"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.alternate_email and self.email:
            if self.alternate_email.strip().lower() == self.email.strip().lower():
                errors["alternate_email"] = "The alternate e-mail is another address than the primary one."
            elif email_domain(self.alternate_email) == email_domain(self.email):
                errors["alternate_email"] = (
                    "The alternate e-mail is on another domain than the primary one: when their "
                    "business e-mail is down, it is down for the whole domain."
                )
        if self.preferred_channel == self.Channel.PHONE and not self.phone:
            errors["phone"] = "A contact who prefers the phone needs a phone number."
        if self.preferred_channel == self.Channel.ALTERNATE_EMAIL and not self.alternate_email:
            errors["alternate_email"] = "A contact who prefers the alternate e-mail needs one."
        if errors:
            raise ValidationError(errors)

    def addresses(self, *, both: bool) -> list[str]:
        """Where a direct update goes: both addresses (a major incident), or the preferred one."""
        if both:
            return [a for a in (self.email, self.alternate_email) if a]
        if self.preferred_channel == self.Channel.ALTERNATE_EMAIL and self.alternate_email:
            return [self.alternate_email]
        return [self.email]


class UpdateTemplate(models.Model):
    """The starting text of a direct update, per incident status; the liaison edits it before sending.

    Placeholders, filled in for each customer: {customer}, {company}, {status}, {affected}, {eta}.
    """

    status = models.CharField(max_length=16, choices=Incident.Status.choices, unique=True)
    subject = models.CharField(max_length=200)
    body = models.TextField(max_length=5000)

    class Meta:
        ordering = ["status"]

    def __str__(self) -> str:
        return f"Direct update template: {self.get_status_display()}"


class AffectedCustomer(models.Model):
    """A customer on an incident, once something was done about it (or it was added or removed).

    Customers derived from the incident's services and components are affected without a
    row; a row is written when one is added by hand, removed, sent an update, called, or
    followed up. A removed one stays removed, whatever the derivation says.
    """

    class Origin(models.TextChoices):
        DERIVED = "derived", "From the affected services and components"
        ADDED = "added", "Added by hand"

    class Call(models.TextChoices):
        CALLED = "called", "Called"
        SKIPPED = "skipped", "Skipped"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="affected_customers")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="incidents_affected")
    origin = models.CharField(max_length=16, choices=Origin.choices)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    removed_reason = models.CharField(max_length=300, blank=True)
    # The last call (or the reason it was skipped); it counts for the ETA set at or before it.
    call_state = models.CharField(max_length=16, choices=Call.choices, blank=True)
    call_note = models.CharField(max_length=500, blank=True)
    called_at = models.DateTimeField(null=True, blank=True)
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["customer__name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "customer"], name="customers_affected_once")
        ]

    def __str__(self) -> str:
        return f"{self.customer} on {self.incident.reference}"

    @property
    def is_removed(self) -> bool:
        return self.removed_at is not None


class DirectUpdate(models.Model):
    """One direct update from the room: what the liaison wrote, to which customers, in what state."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="direct_updates")
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(default=timezone.now)
    text = models.TextField(max_length=5000)
    # What it said, as the incident stood.
    status = models.CharField(max_length=16, choices=Incident.Status.choices)
    eta = models.DateTimeField(null=True, blank=True)
    both_addresses = models.BooleanField(default=False, help_text="A major incident: primary and alternate.")
    restricted_confirmed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-sent_at", "-pk"]

    def __str__(self) -> str:
        return f"Direct update on {self.incident.reference} at {self.sent_at:%Y-%m-%d %H:%M}"


class CustomerMessage(models.Model):
    """What one customer got from one direct update: its message in the comms outbox."""

    update = models.ForeignKey(DirectUpdate, on_delete=models.CASCADE, related_name="customer_messages")
    affected = models.ForeignKey(AffectedCustomer, on_delete=models.CASCADE, related_name="messages")
    message = models.ForeignKey("comms.Message", on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["update", "affected"], name="customers_one_message_per_update")
        ]


class CustomerFollowUp(models.Model):
    """After resolution: "make sure everything is working from their end", until they confirm."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for the customer"
        CONFIRMED = "confirmed", "Confirmed working"
        CLOSED = "closed", "Closed without confirmation"

    affected = models.ForeignKey(AffectedCustomer, on_delete=models.CASCADE, related_name="follow_ups")
    # The liaison's task (roles.Task), closed with the follow-up.
    task = models.ForeignKey("roles.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    opened_at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=500, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["opened_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["affected"],
                condition=models.Q(state="pending"),
                name="customers_one_pending_follow_up",
            )
        ]

    def __str__(self) -> str:
        return f"Follow-up with {self.affected.customer} ({self.get_state_display().lower()})"

    @property
    def is_pending(self) -> bool:
        return self.state == self.State.PENDING


class SocialAccount(models.Model):
    """An account of the company's on a social network that public updates are posted to.

    "If in doubt, tweet it out": the liaison's "notify" choice on a public update posts it
    here too. The account is an apprise URL (mastodons://token@host, bsky://handle@app-password,
    x://...?mode=tweet) kept encrypted on its comms channel and never shown again.
    """

    name = models.CharField(max_length=100, unique=True, help_text="e.g. “Mastodon @example”.")
    channel = models.OneToOneField(
        "comms.Channel", on_delete=models.PROTECT, related_name="social_account", editable=False
    )
    is_active = models.BooleanField(default=True, help_text="Inactive accounts are not posted to.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

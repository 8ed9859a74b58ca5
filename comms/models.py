"""The outbox: every message the portal sends, and each of its deliveries.

A Message is what was said; a Delivery is one copy of it travelling to one
recipient over one Channel. The Delivery row is the record of truth: a worker
claims it with a conditional UPDATE, sends, and records the outcome, so a task
that runs twice (at-least-once Celery) sends once.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from comms import addresses
from core.markdown import render_markdown, render_plain

# A receiver's error text is stored up to this many characters (never as HTML).
LAST_ERROR_MAX_LENGTH = 1000

# What displays show in place of a secret a message carries (an acknowledge or unsubscribe link).
SECRET_PLACEHOLDER = "[secret link, not shown]"


def validate_http_url(value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationError("Enter an http:// or https:// URL with a host name.", code="invalid_url")


class Channel(models.Model):
    """How a message travels: e-mail, a chat webhook, a signed webhook, or the bell."""

    class Kind(models.TextChoices):
        EMAIL = "email", "E-mail"
        SLACK = "slack", "Slack-style incoming webhook"
        WEBHOOK = "webhook", "Signed JSON webhook"
        IN_APP = "in_app", "In-app notification"
        APPRISE = "apprise", "apprise: a person's contact method, or an account of the company's own"

    # The channels every installation has; get-or-created by slug.
    EMAIL_SLUG = "email"
    IN_APP_SLUG = "in-app"
    APPRISE_SLUG = "contact-methods"

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=50, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    url = models.URLField(
        "URL",
        max_length=500,
        blank=True,
        help_text="Webhook channels: the receiver's http(s) URL. Leave empty for e-mail and in-app.",
    )
    secret = models.CharField(
        max_length=200,
        blank=True,
        help_text=(
            "Signed webhooks: the shared secret. Each request carries X-Coolhead-Timestamp and "
            "X-Coolhead-Signature = 'v1=' + hex HMAC-SHA256(secret, 'v1:{timestamp}:{raw body}')."
        ),
    )
    # Kind "apprise" with a URL of its own: an account of the company's (Mastodon, Bluesky,
    # X...), set by comms.services.channel_apprise_set. The URL is a credential: kept only
    # encrypted (comms/crypto.py) and never shown again; `apprise_hint` is what displays show.
    apprise_url_encrypted = models.TextField(blank=True, editable=False)
    apprise_hint = models.CharField(max_length=300, blank=True, editable=False)
    apprise_service = models.CharField(max_length=100, blank=True, editable=False)
    # The longest text the service takes in one message (apprise's body_maxlen); 0 = not known.
    apprise_body_limit = models.PositiveIntegerField(default=0, editable=False)
    timeout_seconds = models.PositiveSmallIntegerField(
        default=10, help_text="A receiver that does not answer within this many seconds is cut off (1-60)."
    )
    is_active = models.BooleanField(default=True, help_text="Inactive channels accept no new messages.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(timeout_seconds__gte=1, timeout_seconds__lte=60),
                name="channel_timeout_1_60",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_webhook(self) -> bool:
        return self.kind in (self.Kind.SLACK, self.Kind.WEBHOOK)

    @property
    def has_apprise_url(self) -> bool:
        """An apprise channel that posts to an account of its own (not a person's contact method)."""
        return self.kind == self.Kind.APPRISE and bool(self.apprise_url_encrypted)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.is_webhook:
            if not self.url:
                errors["url"] = "A webhook channel needs the receiver's URL."
            else:
                try:
                    validate_http_url(self.url)
                except ValidationError as error:
                    errors["url"] = error.messages[0]
                else:
                    # The outbound rule, as far as it goes without DNS: an internal
                    # address here would only be refused at delivery time.
                    refusal = addresses.url_refusal(self.url)
                    if refusal is not None:
                        errors["url"] = refusal
        elif self.url:
            errors["url"] = "Only webhook channels have a URL."
        if self.kind == self.Kind.WEBHOOK and not self.secret:
            errors["secret"] = "A signed webhook needs a secret, so that receivers can verify it is us."
        if not 1 <= (self.timeout_seconds or 0) <= 60:
            errors["timeout_seconds"] = "The timeout must be between 1 and 60 seconds."
        if errors:
            raise ValidationError(errors)


class ContactMethod(models.Model):
    """A way to reach one person besides the bell and their account e-mail: an apprise URL.

    The URL may be a credential (a bot token, a password for a self-hosted
    ntfy): it is stored only encrypted (comms/crypto.py) and never shown again
    after saving; `hint` is what every display shows instead.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_methods"
    )
    label = models.CharField(max_length=60, help_text="The person's own name for it: “Phone (ntfy)”.")
    service = models.CharField(max_length=100, editable=False, help_text="apprise's name for the service.")
    hint = models.CharField(
        max_length=300, editable=False, help_text="What may be shown of the URL: scheme and server only."
    )
    url_encrypted = models.TextField(editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # The outcome of the last "Send test", for the profile page.
    last_test_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["user", "label", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "label"], name="contact_method_label_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.service})"

    @property
    def shown(self) -> str:
        """How displays name it: label, service and hint; never the URL."""
        return f"{self.label} · {self.service} · {self.hint}"


class Message(models.Model):
    """What was said, once, whatever the number of recipients."""

    class Kind(models.TextChoices):
        PAGE = "page", "Page"
        PAGE_ACK = "page_ack", "Page acknowledged"
        HANDOVER_PROMPT = "handover_prompt", "Handover prompt"
        HANDOVER_NOTE = "handover_note", "Handover note"
        REMINDER = "reminder", "Reminder"
        EXECUTIVE_SUMMARY = "executive_summary", "Executive summary"
        PUBLIC_UPDATE = "public_update", "Public update"
        SUBSCRIBER_CONFIRMATION = "subscriber_confirmation", "Subscriber confirmation"
        WEBHOOK_EVENT = "webhook_event", "Webhook event"
        ACCOUNT = "account", "Account mail"
        CONTACT_TEST = "contact_test", "Contact method test"
        CUSTOMER_UPDATE = "customer_update", "Direct update to a customer"
        SOCIAL_POST = "social_post", "Social post"
        OTHER = "other", "Other"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    subject = models.CharField(max_length=300)
    body = models.TextField(max_length=50000, help_text="Markdown.")
    incident = models.ForeignKey(
        "incidents.Incident", null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    # The caller's own key ("reminder:INC-4:liaison:2026-11-23T10:30"): the same
    # key twice gives back the first message and sends nothing new.
    dedup_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    headers = models.JSONField(default=dict, blank=True, help_text="Extra e-mail headers.")
    context = models.JSONField(default=dict, blank=True, help_text="Structured data for webhooks.")
    # Secrets: the outbox shows what was sent to whom, never a link that acts for
    # its recipient (see shown_body). A sensitive message (account mail: reset and
    # confirmation links) is shown as a note only, and its body, headers and
    # context are erased once every delivery has ended (sent or dead): it cannot
    # be re-sent after that. Other messages name the secrets they carry
    # (acknowledge and unsubscribe links), which every display masks.
    sensitive = models.BooleanField(
        default=False, editable=False, help_text="The body is a secret for its recipient: shown to nobody."
    )
    secret_values = models.JSONField(default=list, blank=True, editable=False)
    body_erased_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["incident", "-created_at"]),
            # The few sensitive messages whose secret is still kept (the sweeper erases them).
            models.Index(
                fields=["created_at"],
                name="comms_message_secret_kept",
                condition=models.Q(sensitive=True, body_erased_at__isnull=True),
            ),
        ]
        # Reading every message (account mail and restricted incidents included) is
        # this permission, which superusers have; being staff is not enough.
        permissions = [("view_outbox", "Can read every message in the outbox")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"

    # What is delivered: the body with its secrets. Only the transports read these.
    @property
    def body_html(self) -> str:
        return render_markdown(self.body)

    @property
    def body_text(self) -> str:
        return render_plain(self.body)

    # What the outbox, the admin and any other display show: never a secret.
    def mask(self, text: str) -> str:
        """The text with every secret this message carries replaced by a placeholder."""
        for value in sorted(self.secret_values or [], key=len, reverse=True):
            text = text.replace(value, SECRET_PLACEHOLDER)
        return text

    def _mask_data(self, data):
        if isinstance(data, str):
            return self.mask(data)
        if isinstance(data, list):
            return [self._mask_data(item) for item in data]
        if isinstance(data, dict):
            return {self.mask(str(k)): self._mask_data(v) for k, v in data.items()}
        return data

    @property
    def shown_body(self) -> str:
        """The body as displays show it: nothing for a sensitive message (they show a note)."""
        return "" if self.sensitive else self.mask(self.body)

    @property
    def shown_body_html(self) -> str:
        return render_markdown(self.shown_body)

    @property
    def shown_headers(self) -> dict:
        return {} if self.sensitive else self._mask_data(self.headers or {})

    @property
    def shown_context(self) -> dict:
        return {} if self.sensitive else self._mask_data(self.context or {})

    @property
    def secret_note(self) -> str:
        """What displays say instead of a sensitive message's body."""
        if not self.sensitive:
            return ""
        note = (
            "Not shown: this message carries a secret for its recipient alone (a sign-in, reset or "
            "confirmation link)."
        )
        if self.body_erased_at is not None:
            when = timezone.localtime(self.body_erased_at).strftime("%Y-%m-%d %H:%M:%S")
            return f"{note} It was erased at {when}, when its delivery ended, and cannot be re-sent."
        return f"{note} It is erased as soon as its delivery ends."


class Delivery(models.Model):
    """One message to one recipient over one channel: the unit that is sent and retried."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed, will retry"
        DEAD = "dead", "Dead"

    # States a worker may claim (a failed one once its next attempt is due).
    CLAIMABLE_STATES = (State.PENDING, State.FAILED)

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="deliveries")
    address = models.CharField(
        max_length=500,
        blank=True,
        help_text="E-mail address or webhook URL; for a contact method, only what may be shown of it.",
    )
    # Contact methods (channel kind "apprise"): the URL is read, decrypted, when
    # sending. SET_NULL: a method removed later is a dead delivery, not a lost record.
    contact_method = models.ForeignKey(
        ContactMethod, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    # SET_NULL: removing a person must not erase the record of what was sent to them.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # While state is "sending": the worker holding it, and until when. A lease
    # that expired means the worker died; the sweeper hands the row out again.
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=LAST_ERROR_MAX_LENGTH, blank=True)
    # Sent with the delivery (Message-ID, X-Coolhead-Delivery) so that a
    # receiver can drop the one copy a killed worker might have sent twice.
    idempotency_key = models.CharField(max_length=64, unique=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["state", "next_attempt_at"]),
            models.Index(fields=["state", "lease_expires_at"]),
            models.Index(fields=["user", "channel", "read_at"]),
            # /metrics counts what was sent since its last scrape (comms/metrics.py).
            models.Index(
                fields=["sent_at"], name="comms_delivery_sent_at", condition=models.Q(sent_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.message.subject} → {self.recipient_label} ({self.state})"

    @property
    def recipient_label(self) -> str:
        """Who it went to, as displays show it.

        A webhook's URL is often its credential (a Slack incoming webhook, a
        subscriber's receiver with a token in its path): only its scheme and
        host are shown.
        """
        if self.address and self.channel.is_webhook:
            # Never netloc: it may hold user:password@.
            parts = urlsplit(self.address)
            host = parts.hostname or ""
            where = f"{parts.scheme}://{f'[{host}]' if ':' in host else host}/…"
            return f"{self.user} ({where})" if self.user_id else where
        if self.address and self.channel.kind == Channel.Kind.APPRISE:
            return f"{self.user} ({self.address})" if self.user_id else self.address
        if self.address:
            return self.address
        if self.user_id:
            return str(self.user)
        return self.channel.name


class DeliveryTally(models.Model):
    """Running totals of sent deliveries for /metrics (comms/metrics.py): each is counted once.

    One row. A scrape adds the deliveries sent after `counted_until` and before
    a settling margin, so it reads what is new, not the whole outbox again.
    `totals`: {channel kind: {"count": n, "seconds": total latency, "buckets": [n per bound]}}.
    """

    counted_until = models.DateTimeField()
    totals = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"Deliveries sent, counted until {self.counted_until:%Y-%m-%d %H:%M:%S}"

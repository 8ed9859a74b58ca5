import json

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from comms import permissions, services
from comms.models import Channel, ContactMethod, Delivery, Message
from comms.services import CommsError


class ChannelForm(forms.ModelForm):
    """The signing secret is write-only: typed once, never shown again (receivers keep their copy)."""

    secret = forms.CharField(
        required=False,
        max_length=200,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=(
            "Signed webhooks: the shared secret. Never shown again once saved; leave empty to keep the "
            "current one. Each request carries X-Coolhead-Timestamp and X-Coolhead-Signature = "
            "'v1=' + hex HMAC-SHA256(secret, 'v1:{timestamp}:{raw body}')."
        ),
    )

    class Meta:
        model = Channel
        fields = ["name", "slug", "kind", "url", "secret", "timeout_seconds", "is_active"]

    def clean_secret(self) -> str:
        # Empty keeps what is stored (Channel.clean() still refuses a signed webhook without one).
        return self.cleaned_data["secret"] or (self.instance.secret if self.instance.pk else "")


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    # Validation (http(s) URL for webhooks, a secret for signed ones, a bounded
    # timeout) lives in Channel.clean(), which the admin form calls.
    form = ChannelForm
    list_display = ["name", "kind", "receiver", "timeout_seconds", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    @admin.display(description="Receiver")
    def receiver(self, channel: Channel) -> str:
        # A Slack incoming webhook's URL is its credential: the list shows the host only.
        return Delivery(channel=channel, address=channel.url).recipient_label if channel.url else "—"


class OutboxAdmin(admin.ModelAdmin):
    """The outbox in the admin: the `comms.view_outbox` permission, like the outbox page.

    Being staff with Django's model permissions on messages is not enough: the
    outbox holds restricted incidents' messages and account mail.
    """

    def has_module_permission(self, request: HttpRequest) -> bool:
        return permissions.may_read_whole_outbox(request.user)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return permissions.may_read_whole_outbox(request.user)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return permissions.may_read_whole_outbox(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return permissions.may_read_whole_outbox(request.user) and super().has_delete_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = ["channel", "recipient", "user", "state", "attempts", "next_attempt_at", "last_error", "sent_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    max_num = 0

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return permissions.may_read_whole_outbox(request.user)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        return super().get_queryset(request).select_related("channel", "user")

    @admin.display(description="Recipient")
    def recipient(self, delivery: Delivery) -> str:
        return delivery.recipient_label


def _shown_json(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) if data else "—"


@admin.register(Message)
class MessageAdmin(OutboxAdmin):
    # The outbox is a record: messages are written by comms.services, not by hand.
    # Only what the outbox shows is here: never the raw body, headers or context
    # (they carry secrets: reset links, acknowledge and unsubscribe links).
    list_display = ["subject", "kind", "incident", "created_at"]
    list_filter = ["kind"]
    search_fields = ["subject", "dedup_key"]
    fields = [
        "kind",
        "subject",
        "shown_body",
        "incident",
        "dedup_key",
        "shown_headers",
        "shown_context",
        "created_at",
    ]
    readonly_fields = fields
    inlines = [DeliveryInline]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # nothing here is edited; the page is a view

    @admin.display(description="Body")
    def shown_body(self, message: Message) -> str:
        return message.secret_note or message.shown_body

    @admin.display(description="Headers")
    def shown_headers(self, message: Message) -> str:
        return _shown_json(message.shown_headers)

    @admin.display(description="Context")
    def shown_context(self, message: Message) -> str:
        return _shown_json(message.shown_context)


@admin.register(Delivery)
class DeliveryAdmin(OutboxAdmin):
    list_display = ["id", "message", "channel", "recipient", "state", "attempts", "next_attempt_at"]
    list_filter = ["state", "channel"]
    search_fields = ["idempotency_key", "message__subject"]
    list_select_related = ["message", "channel", "user"]
    # The address only as the outbox shows it: a webhook's URL may be its credential.
    readonly_fields = ["recipient", *(f.name for f in Delivery._meta.fields if f.name != "address")]
    exclude = ["address"]
    actions = ["resend"]

    @admin.display(description="Recipient")
    def recipient(self, delivery: Delivery) -> str:
        return delivery.recipient_label

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Delivery], search_term: str):
        # E-mail addresses are searchable; webhook URLs are not (a search would
        # let one guess a hidden URL, a character at a time).
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search_term.strip():
            by_email = queryset.filter(
                channel__kind=Channel.Kind.EMAIL, address__icontains=search_term.strip()
            )
            results |= by_email
        return results, may_have_duplicates

    @admin.action(description="Re-send the selected dead deliveries")
    def resend(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        done = 0
        for delivery in queryset.filter(state=Delivery.State.DEAD):
            try:
                services.delivery_resend(delivery=delivery, by=request.user)
                done += 1
            except CommsError as error:
                self.message_user(request, str(error), messages.WARNING)
        self.message_user(request, f"{done} deliveries queued again.")


@admin.register(ContactMethod)
class ContactMethodAdmin(admin.ModelAdmin):
    """People add their own on their profile page; the admin sees what may be shown and may remove one.

    The URL is never shown (it is stored encrypted and may be a credential).
    """

    list_display = ["user", "label", "service", "hint", "created_at", "last_test_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email", "label", "service"]
    fields = ["user", "label", "service", "hint", "created_at", "last_test_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from comms import services
from comms.models import Channel, Delivery, Message
from comms.services import CommsError


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    # Validation (http(s) URL for webhooks, a secret for signed ones, a bounded
    # timeout) lives in Channel.clean(), which the admin form calls.
    list_display = ["name", "kind", "url", "timeout_seconds", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "slug", "url"]
    prepopulated_fields = {"slug": ["name"]}


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = ["channel", "address", "user", "state", "attempts", "next_attempt_at", "last_error", "sent_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    max_num = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        return super().get_queryset(request).select_related("channel", "user")


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    # The outbox is a record: messages are written by comms.services, not by hand.
    list_display = ["subject", "kind", "incident", "created_at"]
    list_filter = ["kind"]
    search_fields = ["subject", "dedup_key"]
    readonly_fields = ["kind", "subject", "body", "incident", "dedup_key", "headers", "context", "created_at"]
    inlines = [DeliveryInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "message", "channel", "address", "state", "attempts", "next_attempt_at"]
    list_filter = ["state", "channel"]
    search_fields = ["address", "idempotency_key"]
    list_select_related = ["message", "channel"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    actions = ["resend"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

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

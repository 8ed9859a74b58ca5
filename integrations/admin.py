from django import forms
from django.contrib import admin
from django.db import transaction

from incidents.models import Severity
from integrations import webhooks
from integrations.models import (
    AlertGroup,
    AlertSettings,
    OutgoingWebhook,
    SlackIdentity,
    SlackStalk,
    WebhookEvent,
)
from roles.admin import ServiceAdmin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the portal writes; the admin shows them and changes nothing."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AlertGroup)
class AlertGroupAdmin(ReadOnlyAdmin):
    list_display = ("service", "source", "dedup_key", "incident", "status", "event_count", "last_event_at")
    list_filter = ("source", "status")
    list_select_related = ("service", "incident")
    search_fields = ("dedup_key", "summary")


@admin.register(SlackStalk)
class SlackStalkAdmin(ReadOnlyAdmin):
    list_display = (
        "incident",
        "slack_channel_id",
        "started_by",
        "started_at",
        "last_posted_at",
        "stopped_at",
    )


@admin.register(SlackIdentity)
class SlackIdentityAdmin(ReadOnlyAdmin):
    """Links are made by the person (a one-time code); an admin may only undo one (delete)."""

    list_display = ("user", "slack_user_name", "slack_user_id", "team_id", "linked_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email", "slack_user_id", "slack_user_name")


class AlertSettingsForm(forms.ModelForm):
    class Meta:
        model = AlertSettings
        fields = ("severity_label", "severity_map", "default_severity", "auto_resolve", "page_on_call")

    def clean_severity_map(self) -> dict:
        value = self.cleaned_data["severity_map"]
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and v in Severity.values for k, v in value.items()
        ):
            raise forms.ValidationError(
                'Map label values to a SEV number from 1 to 5, e.g. {"critical": 1, "warning": 4}.'
            )
        return {k.lower(): v for k, v in value.items()}


class AlertSettingsInline(admin.StackedInline):
    """Shown on the Service admin: how that service's alerts become incidents."""

    model = AlertSettings
    form = AlertSettingsForm
    can_delete = False
    extra = 0


class OutgoingWebhookForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple, required=True
    )

    class Meta:
        model = OutgoingWebhook
        fields = ("name", "channel", "events", "include_restricted", "include_customer_data", "is_active")


@admin.register(OutgoingWebhook)
class OutgoingWebhookAdmin(admin.ModelAdmin):
    form = OutgoingWebhookForm
    list_display = (
        "name",
        "channel",
        "is_active",
        "include_restricted",
        "include_customer_data",
        "created_at",
    )
    list_filter = ("is_active",)

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        transaction.on_commit(webhooks.subscriptions_changed)

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        transaction.on_commit(webhooks.subscriptions_changed)

    def delete_queryset(self, request, queryset) -> None:
        super().delete_queryset(request, queryset)
        transaction.on_commit(webhooks.subscriptions_changed)


# A service's alert settings are edited on the service's own admin page; roles
# sits below integrations and does not know them, so the inline is added here.
ServiceAdmin.inlines = [*ServiceAdmin.inlines, AlertSettingsInline]

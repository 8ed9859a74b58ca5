from django import forms
from django.contrib import admin

from incidents.models import (
    AlertGroup,
    AlertSettings,
    ApiToken,
    Incident,
    OutgoingWebhook,
    Participation,
    Severity,
    SlackStalk,
    TimelineEntry,
    TimelineEntryEdit,
    WebhookEvent,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class TimelineInline(ReadOnlyInline):
    model = TimelineEntry
    fields = ("occurred_at", "kind", "author", "body", "struck_at")
    readonly_fields = fields
    ordering = ("-occurred_at",)
    max_num = 0
    classes = ("collapse",)


class ParticipationInline(admin.TabularInline):
    model = Participation
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    """Read-mostly: changes to an incident go through the room, which writes the timeline."""

    list_display = ("reference", "title", "severity", "status", "is_security", "declared_at")
    list_filter = ("status", "severity", "is_security", "deploy_freeze")
    search_fields = ("title", "summary", "number")
    date_hierarchy = "declared_at"
    readonly_fields = (
        "number",
        "title",
        "summary",
        "severity",
        "status",
        "is_security",
        "deploy_freeze",
        "rollback_considered",
        "detected_at",
        "declared_at",
        "acknowledged_at",
        "mitigated_at",
        "resolved_at",
        "declared_by",
        "revision",
        "updated_at",
    )
    inlines = [ParticipationInline, TimelineInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TimelineEntry)
class TimelineEntryAdmin(admin.ModelAdmin):
    list_display = ("incident", "kind", "author", "occurred_at", "struck_at")
    list_filter = ("kind",)
    search_fields = ("body", "incident__title")
    list_select_related = ("incident", "author")
    readonly_fields = [f.name for f in TimelineEntry._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TimelineEntryEdit)
class TimelineEntryEditAdmin(admin.ModelAdmin):
    list_display = ("entry", "edited_by", "edited_at")
    readonly_fields = ("entry", "previous_body", "edited_by", "edited_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- API and integrations ------------------------------------------------------------


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the portal writes; the admin shows them and changes nothing."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    # Only a hash is stored: there is nothing secret to show. People create and
    # revoke their own tokens on their settings page.
    list_display = ("user", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_select_related = ("user",)
    search_fields = ("user__email", "name", "prefix")
    exclude = ("token_hash",)


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
        fields = ("name", "channel", "events", "include_restricted", "is_active")


@admin.register(OutgoingWebhook)
class OutgoingWebhookAdmin(admin.ModelAdmin):
    form = OutgoingWebhookForm
    list_display = ("name", "channel", "is_active", "include_restricted", "created_at")
    list_filter = ("is_active",)

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

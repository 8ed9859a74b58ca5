from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpRequest

from statuspage import public_cache, services
from statuspage.models import (
    Component,
    ComponentStatusChange,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
    PageSettings,
    PublicIncident,
    PublicUpdate,
    Subscriber,
    UpdateTemplate,
)
from statuspage.services import StatuspageError


@admin.register(PageSettings)
class PageSettingsAdmin(admin.ModelAdmin):
    list_display = ["name", "public_url", "time_zone", "theme"]
    readonly_fields = ["public_id", "updated_at"]
    fields = ["name", "url", "time_zone", "theme", "about", "support_url", "public_id", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not PageSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        obj.pk = 1  # one page
        super().save_model(request, obj, form, change)
        services.public_changed()


class StatusChangeInline(admin.TabularInline):
    model = ComponentStatusChange
    fk_name = "component"
    extra = 0
    can_delete = False
    fields = ["changed_at", "old_status", "new_status", "changed_by", "public_update", "maintenance"]
    readonly_fields = fields
    ordering = ["-changed_at"]
    verbose_name_plural = "status history (kept for the uptime bars)"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Component)
class ComponentAdmin(admin.ModelAdmin):
    list_display = ["name", "group", "status", "position", "is_group", "showcase"]
    list_filter = ["status", "is_group"]
    search_fields = ["name", "description"]
    readonly_fields = ["public_id", "created_at", "updated_at"]
    fields = [
        "name",
        "description",
        "status",
        "is_group",
        "group",
        "position",
        "showcase",
        "only_show_if_degraded",
        "start_date",
        "public_id",
        "created_at",
        "updated_at",
    ]
    inlines = [StatusChangeInline]

    @transaction.atomic
    def save_model(self, request, obj, form, change) -> None:
        new_status = obj.status
        if change and "status" in form.changed_data:
            # The status goes through the service, which keeps the history.
            obj.status = form.initial["status"]
            super().save_model(request, obj, form, change)
            try:
                services.component_change_status(component=obj, status=new_status, by=request.user)
            except StatuspageError as error:
                messages.error(request, str(error))
            obj.refresh_from_db()
        else:
            super().save_model(request, obj, form, change)
        services.public_changed()

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        services.public_changed()


class PublicUpdateInline(admin.TabularInline):
    model = PublicUpdate
    extra = 0
    can_delete = False
    fields = ["display_at", "status", "body", "affected_components", "deliver_notifications", "author"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PublicIncident)
class PublicIncidentAdmin(admin.ModelAdmin):
    """Published from the incident room only; here to read, and to take one down if it must go."""

    list_display = ["name", "incident", "status", "impact", "created_at", "resolved_at"]
    list_filter = ["status", "impact"]
    search_fields = ["name", "public_id"]
    readonly_fields = [
        "public_id",
        "incident",
        "name",
        "status",
        "impact",
        "components",
        "created_at",
        "updated_at",
        "started_at",
        "monitoring_at",
        "resolved_at",
    ]
    inlines = [PublicUpdateInline]

    def has_add_permission(self, request) -> bool:
        return False

    def delete_model(self, request, obj) -> None:
        public_id = obj.public_id
        super().delete_model(request, obj)
        public_cache.forget([f"incident:{public_id}"])
        services.public_changed()

    def delete_queryset(self, request, queryset) -> None:
        ids = [f"incident:{pid}" for pid in queryset.values_list("public_id", flat=True)]
        super().delete_queryset(request, queryset)
        public_cache.forget(ids)
        services.public_changed()


@admin.register(UpdateTemplate)
class UpdateTemplateAdmin(admin.ModelAdmin):
    list_display = ["status", "body"]


class MaintenanceUpdateInline(admin.TabularInline):
    model = MaintenanceUpdate
    extra = 0
    can_delete = False
    fields = ["display_at", "status", "body", "affected_components", "author"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class MaintenanceForm(forms.ModelForm):
    message = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What customers read (first update when scheduling, or the next update).",
    )
    next_status = forms.ChoiceField(
        required=False,
        choices=[("", "Keep the status"), *MaintenanceStatus.choices],
        help_text="Post an update that moves the maintenance on "
        "(beat starts and completes it on time anyway).",
    )

    class Meta:
        model = Maintenance
        fields = ["name", "scheduled_for", "scheduled_until", "components", "auto_start", "auto_complete"]


@admin.register(Maintenance)
class MaintenanceAdmin(admin.ModelAdmin):
    form = MaintenanceForm
    list_display = ["name", "status", "scheduled_for", "scheduled_until"]
    list_filter = ["status"]
    readonly_fields = ["public_id", "status", "started_at", "completed_at"]
    filter_horizontal = ["components"]
    inlines = [MaintenanceUpdateInline]
    actions = ["start_now", "move_to_verifying", "complete_now"]

    def get_fields(self, request, obj=None):
        fields = [
            "name",
            "scheduled_for",
            "scheduled_until",
            "components",
            "auto_start",
            "auto_complete",
            "message",
        ]
        if obj is not None:
            fields += ["next_status", "public_id", "status", "started_at", "completed_at"]
        return fields

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        if not change:
            # Scheduling goes through the service: first update, refresh, subscribers.
            created = services.maintenance_schedule(
                name=data["name"],
                scheduled_for=data["scheduled_for"],
                scheduled_until=data["scheduled_until"],
                components=list(data.get("components") or []),
                body=data.get("message", ""),
                by=request.user,
                auto_start=data["auto_start"],
                auto_complete=data["auto_complete"],
            )
            # The admin goes on with `obj` (many-to-many, log entry, redirect): make it the saved row.
            obj.pk = created.pk
            obj.public_id = created.public_id
            obj.created_at = created.created_at
            obj.updated_at = created.updated_at
            obj._state.adding = False
            obj._state.db = created._state.db
            return
        super().save_model(request, obj, form, change)
        if data.get("next_status") or data.get("message"):
            try:
                services.maintenance_post_update(
                    maintenance=obj,
                    status=data.get("next_status") or obj.status,
                    body=data.get("message", ""),
                    by=request.user,
                )
            except StatuspageError as error:
                messages.error(request, str(error))
        services.public_changed()

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        services.public_changed()

    def _move(self, request, queryset, status: str) -> None:
        for maintenance in queryset:
            try:
                services.maintenance_post_update(maintenance=maintenance, status=status, by=request.user)
            except StatuspageError as error:
                messages.error(request, f"{maintenance}: {error}")

    @admin.action(description="Start now (in progress)")
    def start_now(self, request, queryset) -> None:
        self._move(request, queryset, MaintenanceStatus.IN_PROGRESS)

    @admin.action(description="Move to verifying")
    def move_to_verifying(self, request, queryset) -> None:
        self._move(request, queryset, MaintenanceStatus.VERIFYING)

    @admin.action(description="Complete now")
    def complete_now(self, request, queryset) -> None:
        self._move(request, queryset, MaintenanceStatus.COMPLETED)


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "email", "confirmed_at", "unsubscribed_at", "created_at"]
    list_filter = ["kind"]
    search_fields = ["email", "webhook_url"]
    readonly_fields = ["public_id", "created_at", "confirmed_at", "unsubscribed_at"]
    fields = [
        "kind",
        "email",
        "webhook_url",
        "components",
        "public_id",
        "created_at",
        "confirmed_at",
        "unsubscribed_at",
    ]
    actions = ["unsubscribe"]

    def has_add_permission(self, request) -> bool:
        return False  # people subscribe themselves, with double opt-in

    @admin.action(description="Unsubscribe")
    def unsubscribe(self, request, queryset) -> None:
        for subscriber in queryset:
            services.subscriber_unsubscribe(token=subscriber.token)

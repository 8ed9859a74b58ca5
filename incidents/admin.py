from django.contrib import admin

from incidents.models import Incident, Participation, TimelineEntry, TimelineEntryEdit


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

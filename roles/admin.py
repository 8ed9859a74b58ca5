from django import forms
from django.contrib import admin
from django.utils import timezone

from incidents.models import Severity
from roles.models import (
    OVERRIDE_RULE,
    ExecutiveSummary,
    LayerMember,
    NotificationRule,
    OutOfOffice,
    Override,
    Page,
    PageNotification,
    Profile,
    RoleAssignment,
    RotationLayer,
    Schedule,
    ScheduleEvent,
    Service,
    ShiftSwap,
    Team,
    Weekday,
    generate_integration_key,
)
from roles.selectors import oncall_at, oncall_next
from roles.services.notification_rules import MAX_DELAY_MINUTES


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ("incident", "role", "user", "started_at", "ended_at")
    list_filter = ("role",)
    list_select_related = ("incident", "user")
    readonly_fields = (
        "incident",
        "role",
        "user",
        "assigned_by",
        "started_at",
        "ended_at",
        "handover_note",
        "checklist_done",
    )

    def has_add_permission(self, request) -> bool:
        return False


# --- People -------------------------------------------------------------------------------


class ProfileForm(forms.ModelForm):
    working_days = forms.TypedMultipleChoiceField(
        choices=Weekday.choices, coerce=int, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = Profile
        fields = (
            "user",
            "has_production_access",
            "timezone",
            "working_days",
            "work_start",
            "work_end",
            "phone",
            "contact",
            "webhook_url",
        )


class OutOfOfficeInline(admin.TabularInline):
    model = OutOfOffice
    extra = 0


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    form = ProfileForm
    list_display = ("user", "timezone", "work_start", "work_end", "has_production_access", "phone")
    list_filter = ("has_production_access", "timezone")
    search_fields = ("user__username", "user__email", "user__first_name", "user__last_name", "phone")
    autocomplete_fields = ("user",)
    inlines = [OutOfOfficeInline]
    fieldsets = (
        (None, {"fields": ("user", "has_production_access")}),
        ("Working hours", {"fields": ("timezone", "working_days", "work_start", "work_end")}),
        ("Contact", {"fields": ("phone", "contact", "webhook_url")}),
    )


class TeamForm(forms.ModelForm):
    stakeholder_for = forms.TypedMultipleChoiceField(
        choices=Severity.choices,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Stakeholders for severities",
        help_text="Executive summaries of incidents with these severities go to this team's members.",
    )

    class Meta:
        model = Team
        fields = ("name", "description", "members", "stakeholder_for")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    form = TeamForm
    list_display = ("name", "member_count", "stakeholder_for")
    search_fields = ("name", "description")
    filter_horizontal = ("members",)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("members")

    @admin.display(description="members")
    def member_count(self, team: Team) -> int:
        return len(team.members.all())


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "primary_owner", "secondary_owner", "team", "escalation_minutes")
    list_select_related = ("primary_owner", "secondary_owner", "team")
    search_fields = ("name", "description")
    autocomplete_fields = ("primary_owner", "secondary_owner")
    readonly_fields = ("integration_key",)
    actions = ["regenerate_integration_key"]
    inlines: list = []  # integrations/admin.py adds how its alerts become incidents

    @admin.action(description="Generate a new integration key (the old one stops working)")
    def regenerate_integration_key(self, request, queryset) -> None:
        for service in queryset:
            service.integration_key = generate_integration_key()
            service.save(update_fields=["integration_key"])
        self.message_user(request, f"New integration keys for {queryset.count()} service(s).")


# --- On-call rosters -------------------------------------------------------------------------


class LayerMemberInline(admin.TabularInline):
    model = LayerMember
    extra = 1
    autocomplete_fields = ("user",)
    verbose_name = "person in the rotation"
    verbose_name_plural = "people in the rotation, in order (position 0 takes the first shift)"


@admin.register(RotationLayer)
class RotationLayerAdmin(admin.ModelAdmin):
    list_display = ("__str__", "schedule", "level", "timezone", "handoff_time", "shift_hours", "start_date")
    list_filter = ("schedule", "level")
    inlines = [LayerMemberInline]


class RotationLayerInline(admin.TabularInline):
    model = RotationLayer
    extra = 0
    show_change_link = True
    fields = ("level", "name", "timezone", "start_date", "handoff_time", "shift_hours")
    verbose_name_plural = (
        "rotation layers (save, then use the change link to list the people in order; "
        "of several layers with the same level, the last one that has started wins)"
    )


class OverrideInline(admin.TabularInline):
    model = Override
    extra = 0
    autocomplete_fields = ("user",)
    fields = ("level", "user", "starts_at", "ends_at", "note", "created_at")
    readonly_fields = ("created_at",)
    verbose_name_plural = f"overrides — {OVERRIDE_RULE}"


class ScheduleHistoryInline(admin.TabularInline):
    """Swaps asked for, accepted, declined, cancelled; calendar addresses rotated (roles.services.swaps)."""

    model = ScheduleEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "actor", "text", "swap")
    readonly_fields = fields
    ordering = ("-created_at", "-pk")
    verbose_name_plural = "history (shift swaps, calendar addresses)"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ("name", "role", "team", "primary_now", "backup_now", "escalation_minutes")
    list_select_related = ("team",)
    search_fields = ("name", "description")
    inlines = [RotationLayerInline, OverrideInline, ScheduleHistoryInline]
    readonly_fields = ("now_and_next", "override_rule")
    fieldsets = (
        (None, {"fields": ("name", "description", "team", "role", "escalation_minutes")}),
        ("Who is on call", {"fields": ("now_and_next", "override_rule")}),
    )

    @admin.display(description="overlapping overrides")
    def override_rule(self, schedule: Schedule) -> str:
        return OVERRIDE_RULE

    @admin.display(description="primary now")
    def primary_now(self, schedule: Schedule) -> str:
        return str(oncall_at(schedule, timezone.now()).primary or "—")

    @admin.display(description="backup now")
    def backup_now(self, schedule: Schedule) -> str:
        return str(oncall_at(schedule, timezone.now()).backup or "—")

    @admin.display(description="now and next")
    def now_and_next(self, schedule: Schedule) -> str:
        if schedule.pk is None:
            return "—"
        now = timezone.now()
        primary, backup = oncall_at(schedule, now)
        text = f"Now: {primary or 'nobody'} (backup {backup or 'nobody'})."
        upcoming = oncall_next(schedule, now)
        if upcoming is not None:
            text += (
                f" From {timezone.localtime(upcoming.at):%Y-%m-%d %H:%M %Z}: "
                f"{upcoming.oncall.primary or 'nobody'} (backup {upcoming.oncall.backup or 'nobody'})."
            )
        return text


# --- Pages and summaries (records; made in the room, not here) ---------------------------------


class PageNotificationInline(admin.TabularInline):
    """Each step of the paged people's notification rules: when it was due, sent or why it stopped."""

    model = PageNotification
    extra = 0
    can_delete = False
    fields = ("user", "level", "method_name", "delay_minutes", "due_at", "state", "done_at", "note")
    fields += ("message",)
    readonly_fields = fields
    verbose_name_plural = "notification steps (personal rules)"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Page)
class PageAdmin(admin.ModelAdmin):
    list_display = ("pk", "incident", "target", "status", "level", "created_at", "acknowledged_by")
    list_filter = ("status", "target")
    list_select_related = ("incident", "acknowledged_by")
    readonly_fields = [f.name for f in Page._meta.fields] + ["notified"]
    inlines = [PageNotificationInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ExecutiveSummary)
class ExecutiveSummaryAdmin(admin.ModelAdmin):
    list_display = ("incident", "sent_at", "sent_by", "severity")
    list_select_related = ("incident", "sent_by")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# --- Personal notification rules (people keep their own on their profile page) ------------------


class NotificationRuleForm(forms.ModelForm):
    class Meta:
        model = NotificationRule
        fields = ["user", "urgency", "contact_method", "delay_minutes"]

    def clean_delay_minutes(self) -> int:
        value = self.cleaned_data["delay_minutes"]
        if value > MAX_DELAY_MINUTES:
            raise forms.ValidationError(f"A step comes 0 to {MAX_DELAY_MINUTES} minutes after the page.")
        return value


@admin.register(NotificationRule)
class NotificationRuleAdmin(admin.ModelAdmin):
    form = NotificationRuleForm
    list_display = ("user", "urgency", "delay_minutes", "method")
    list_filter = ("urgency",)
    list_select_related = ("user", "contact_method")
    search_fields = ("user__username", "user__email", "user__first_name", "user__last_name")
    raw_id_fields = ("user", "contact_method")
    ordering = ("user", "urgency", "delay_minutes")

    @admin.display(description="Contact method")
    def method(self, rule: NotificationRule) -> str:
        return rule.method_name


# --- Shift swaps (asked for and answered on the on-call calendar, not here) -----------------------


@admin.register(ShiftSwap)
class ShiftSwapAdmin(admin.ModelAdmin):
    list_display = ("pk", "schedule", "level", "requester", "colleague", "starts_at", "ends_at", "status")
    list_filter = ("status", "schedule")
    list_select_related = ("schedule", "requester", "colleague")
    readonly_fields = [f.name for f in ShiftSwap._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

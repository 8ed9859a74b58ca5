from django.contrib import admin

from roles.models import RoleAssignment, Service


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ("incident", "role", "user", "started_at", "ended_at")
    list_filter = ("role",)
    list_select_related = ("incident", "user")
    readonly_fields = ("incident", "role", "user", "assigned_by", "started_at", "ended_at", "handover_note")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "primary_owner", "secondary_owner")
    search_fields = ("name", "description")
    autocomplete_fields = ("primary_owner", "secondary_owner")

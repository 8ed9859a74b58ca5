from django.contrib import admin

from accounts.models import ApiToken


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

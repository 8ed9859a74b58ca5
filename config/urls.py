from django.contrib import admin
from django.urls import include, path

from accounts import views as accounts_views
from config import health, metrics

admin.site.site_header = "Coolhead administration"
admin.site.site_title = "Coolhead admin"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    # Before the admin's own: its sign-in is the portal's (one form, one throttle).
    path("admin/login/", accounts_views.admin_login),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api")),
    path("integrations/", include("integrations.urls")),
    path("settings/api-tokens/", include("accounts.urls")),
    path("settings/slack/", include("integrations.settings_urls")),
    path("settings/profile/", include("roles.profile_urls")),
    path("accounts/", include("allauth.urls")),
    path("comms/", include("comms.urls")),
    path("status/", include("statuspage.urls")),
    path("incidents/", include("statuspage.room_urls")),
    path("", include("reviews.urls")),
    path("", include("customers.urls")),
    path("", include("incidents.urls")),
    path("", include("roles.urls")),
]

# JSON in the error format under /api/ and /integrations/, Django's pages elsewhere.
handler400 = "config.api.bad_request"
handler404 = "config.api.page_not_found"
handler500 = "config.api.server_error"

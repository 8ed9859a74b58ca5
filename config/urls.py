from django.contrib import admin
from django.urls import include, path

from incidents import views as incident_views

admin.site.site_header = "Coolhead administration"
admin.site.site_title = "Coolhead admin"

urlpatterns = [
    path("healthz", incident_views.healthz, name="healthz"),
    path("readyz", incident_views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("incidents.api.urls")),
    path("integrations/", include("incidents.integrations.urls")),
    path("settings/api-tokens/", include("incidents.api.page_urls")),
    path("accounts/", include("allauth.urls")),
    path("comms/", include("comms.urls")),
    path("status/", include("statuspage.urls")),
    path("incidents/", include("statuspage.room_urls")),
    path("", include("incidents.urls")),
    path("", include("roles.urls")),
]

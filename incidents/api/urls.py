from django.http import JsonResponse
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from incidents.api import views
from statuspage.api import views as statuspage_views

app_name = "api"


class DocsView(SpectacularSwaggerSplitView):
    # Our own page: the Swagger UI assets come from /static (drf-spectacular-sidecar),
    # the init script from ?script, and no inline style or script, so that the
    # site's CSP ('self' only) holds here too.
    template_name = "api/swagger_ui.html"
    authentication_classes = []
    permission_classes = []


class SchemaView(SpectacularAPIView):
    # The description of the API is not secret; the data behind it is.
    authentication_classes = []
    permission_classes = []


urlpatterns = [
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="api:schema"), name="docs"),
    path("incidents/", views.IncidentListView.as_view(), name="incident_list"),
    path("incidents/<int:pk>/", views.IncidentDetailView.as_view(), name="incident_detail"),
    path("incidents/<int:pk>/status/", views.IncidentStatusView.as_view(), name="incident_status"),
    path("incidents/<int:pk>/severity/", views.IncidentSeverityView.as_view(), name="incident_severity"),
    path("incidents/<int:pk>/reopen/", views.IncidentReopenView.as_view(), name="incident_reopen"),
    path("incidents/<int:pk>/timeline/", views.TimelineView.as_view(), name="incident_timeline"),
    path("incidents/<int:pk>/roles/", views.RolesView.as_view(), name="incident_roles"),
    path(
        "incidents/<int:pk>/roles/<int:assignment_id>/release/",
        views.RoleReleaseView.as_view(),
        name="incident_role_release",
    ),
    path("incidents/<int:pk>/pages/", views.PagesView.as_view(), name="incident_pages"),
    path(
        "incidents/<int:pk>/public-updates/",
        statuspage_views.PublicUpdateView.as_view(),
        name="public_updates",
    ),
    path("pages/<int:page_id>/acknowledge/", views.PageAcknowledgeView.as_view(), name="page_acknowledge"),
    path("components/", statuspage_views.ComponentListView.as_view(), name="component_list"),
    path(
        "components/<str:component_id>/status/",
        statuspage_views.ComponentStatusView.as_view(),
        name="component_status",
    ),
    path("services/", views.ServiceListView.as_view(), name="service_list"),
    path(
        "services/<int:service_id>/alert-settings/",
        views.ServiceAlertSettingsView.as_view(),
        name="service_alert_settings",
    ),
    path("oncall/", views.OnCallView.as_view(), name="oncall"),
    path("webhooks/", views.WebhookListView.as_view(), name="webhook_list"),
    path("webhooks/<int:webhook_id>/", views.WebhookDetailView.as_view(), name="webhook_detail"),
    path("tokens/", views.TokenListView.as_view(), name="token_list"),
    path("tokens/<int:token_id>/revoke/", views.TokenRevokeView.as_view(), name="token_revoke"),
    # Anything else under /api/v1/ answers in the API's error format, not with an HTML page.
    re_path(
        r"^.*$",
        lambda request: JsonResponse(
            {"detail": "No such API endpoint.", "code": "not_found", "errors": {}}, status=404
        ),
    ),
]

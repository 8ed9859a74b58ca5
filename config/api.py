"""/api/v1/: every app's api/urls.py in one "api" namespace, the schema, the docs, and a JSON 404."""

from django.http import JsonResponse
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView


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


def not_found(request):
    return JsonResponse({"detail": "No such API endpoint.", "code": "not_found", "errors": {}}, status=404)


app_name = "api"

urlpatterns = [
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="api:schema"), name="docs"),
    path("", include("incidents.api.urls")),
    path("", include("roles.api.urls")),
    path("", include("statuspage.api.urls")),
    path("", include("integrations.api.urls")),
    path("", include("accounts.api.urls")),
    # Anything else under /api/v1/ answers in the API's error format, not with an HTML page.
    re_path(r"^.*$", not_found),
]

"""/api/v1/: every app's api/urls.py in one "api" namespace, the schema, the docs, and a JSON 404."""

import sys

from django.http import JsonResponse
from django.urls import include, path, re_path
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core.middleware import database_unavailable, database_unavailable_response, wants_json


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


@csrf_exempt  # it writes nothing; a POST to a mistyped path is a JSON 404, not Django's CSRF page
def not_found(request):
    return JsonResponse({"detail": "No such API endpoint.", "code": "not_found", "errors": {}}, status=404)


# Django's error handlers (handler400 and handler500 in config/urls.py): under /api/
# and /integrations/ the answer is JSON in the API's error format, whatever raised
# (a DRF view, whose exception handler leaves unknown errors to Django so that they
# are logged and reported as usual, or a middleware); elsewhere Django's own page.


def server_error(request):
    # Django calls this while handling the exception: one raised by a middleware before
    # the view (the session, the person) is a database outage like any other.
    if database_unavailable(sys.exception()):
        return database_unavailable_response(request)
    if wants_json(request):
        return JsonResponse(
            {"detail": "Internal server error; it has been logged.", "code": "server_error", "errors": {}},
            status=500,
        )
    return defaults.server_error(request)


def page_not_found(request, exception):
    # The catch-all below matches any path, but Django's resolver can still miss
    # (a path with a line break, a 404 raised outside a view).
    if wants_json(request):
        return JsonResponse({"detail": "Not found.", "code": "not_found", "errors": {}}, status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request, exception):
    if wants_json(request):
        return JsonResponse({"detail": "Bad request.", "code": "bad_request", "errors": {}}, status=400)
    return defaults.bad_request(request, exception)


app_name = "api"

urlpatterns = [
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="api:schema"), name="docs"),
    path("", include("incidents.api.urls")),
    path("", include("roles.api.urls")),
    path("", include("statuspage.api.urls")),
    path("", include("reviews.api.urls")),
    path("", include("customers.api.urls")),
    path("", include("integrations.api.urls")),
    path("", include("accounts.api.urls")),
    # Anything else under /api/v1/ answers in the API's error format, not with an HTML page.
    re_path(r"^[\s\S]*$", not_found),  # any path, line breaks included
]

"""Request-wide rules no single view should have to remember."""

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.cache import patch_cache_control

logger = logging.getLogger(__name__)

# Answers under these prefixes are JSON in the API's error format ({detail, code, errors}).
JSON_PREFIXES = ("/api/", "/integrations/")

NUL_MESSAGE = "Null characters (U+0000) are not allowed in the address, the query string or a header."


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(JSON_PREFIXES)


def _nul_in(request: HttpRequest) -> str:
    """Where the request carries a NUL character outside its body, or ""."""
    meta = request.META
    if "\x00" in request.path_info or "\x00" in request.path:
        return "path"
    query = meta.get("QUERY_STRING", "")
    if "%00" in query or "\x00" in query:
        return "query"
    for name, value in meta.items():
        if name.startswith("HTTP_") and isinstance(value, str) and "\x00" in value:
            return name.removeprefix("HTTP_").replace("_", "-").title()
    return ""


def refuse_nul_middleware(get_response: Callable[[HttpRequest], HttpResponse]):
    """A NUL in the path, the query string or a header is a 400 before any view or database sees it.

    PostgreSQL stores no NUL in text: a lookup with one fails with a database
    error, which is a 500 (or a 503 that alert senders retry for ever). Bodies are
    checked where they are read: JSON by core.api.parsers, forms by their fields.
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        where = _nul_in(request)
        if where:
            if wants_json(request):
                return JsonResponse(
                    {"detail": NUL_MESSAGE, "code": "invalid", "errors": {where: [NUL_MESSAGE]}}, status=400
                )
            return HttpResponseBadRequest(NUL_MESSAGE + "\n", content_type="text/plain; charset=utf-8")
        return get_response(request)

    return middleware


def _carries_credentials(request: HttpRequest) -> bool:
    return settings.SESSION_COOKIE_NAME in request.COOKIES or "HTTP_AUTHORIZATION" in request.META


def private_cache_middleware(get_response: Callable[[HttpRequest], HttpResponse]):
    """What a signed-in person (session or token) is shown is kept by no cache: `private, no-store`.

    A response that declares itself public (the status page's documents, the
    same for everyone) keeps its own headers. Only the request's cookies and
    headers are looked at, never request.user: the public documents must not
    touch the session (no Vary: Cookie, and they serve while the database is down).
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if "public" in response.get("Cache-Control", "").lower():
            return response
        if _carries_credentials(request):
            patch_cache_control(response, private=True, no_store=True)
        return response

    return middleware


RETRY_AFTER_SECONDS = "5"


def database_unavailable(exception: BaseException | None) -> bool:
    """The database down, cut off or its pool exhausted (psycopg_pool's PoolTimeout arrives wrapped)."""
    return isinstance(exception, OperationalError | InterfaceError)


def database_unavailable_response(request: HttpRequest) -> HttpResponse:
    """A 503 with Retry-After that says "retry": JSON under the API's prefixes, text elsewhere."""
    logger.warning("database unavailable: %s %s answered 503", request.method, request.path)
    message = "The portal is busy or its database is unavailable; retry in a few seconds."
    if wants_json(request):
        response = JsonResponse({"detail": message, "code": "unavailable", "errors": {}}, status=503)
    else:
        response = HttpResponse(message + "\n", status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = RETRY_AFTER_SECONDS
    return response


class DatabaseUnavailableMiddleware:
    """The database down, cut off or its pool exhausted (overload): a 503 with Retry-After, not a 500.

    Nothing was written (the transaction did not commit), and the same request
    works once the database answers again. The API's own handler says the same
    in its error format (core/api/errors.py); this covers the pages. An error
    raised by a middleware before the view (the session, the person, the
    administrators' second factor) never comes here: Django turns it into its
    500 handler's answer first, so that handler (config/api.py) answers the same.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not database_unavailable(exception):
            return None
        return database_unavailable_response(request)

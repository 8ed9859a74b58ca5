"""Request-wide rules no single view should have to remember."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.cache import patch_cache_control

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

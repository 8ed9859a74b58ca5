"""Pages in the viewer's own time zone (roles/viewer_zone.py)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from core.middleware import wants_json
from roles.viewer_zone import LazyZone, zone_name_for

# The public status page chooses its zone itself and must not touch the session.
PUBLIC_PREFIXES = ("/status/",)


def viewer_time_zone_middleware(get_response: Callable[[HttpRequest], HttpResponse]):
    def middleware(request: HttpRequest) -> HttpResponse:
        if wants_json(request) or request.path.startswith(PUBLIC_PREFIXES):
            return get_response(request)

        def resolve() -> str:
            user = request.user
            if user.is_authenticated:
                return zone_name_for(user.pk)
            return str(timezone.get_default_timezone())

        timezone.activate(LazyZone(resolve))
        try:
            return get_response(request)
        finally:
            timezone.deactivate()

    return middleware

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"


class LimitedJSONParser(JSONParser):
    """JSON, refused past INTEGRATION_MAX_BODY_BYTES (512 KB) before it is read."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.INTEGRATION_MAX_BODY_BYTES
        request = (parser_context or {}).get("request")
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        except ValueError:
            declared = 0
        if declared > limit:
            raise RequestTooLarge(f"The body is larger than {limit // 1024} KB.")
        return super().parse(stream, media_type, parser_context)

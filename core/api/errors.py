"""Every API error is `{"detail": str, "code": str, "errors": {field: [messages]}}`."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError, NotAllowed

logger = logging.getLogger(__name__)


def _flatten(detail) -> list[str]:
    if isinstance(detail, dict):
        return [m for value in detail.values() for m in _flatten(value)]
    if isinstance(detail, list):
        return [m for value in detail for m in _flatten(value)]
    return [str(detail)]


def _field_errors(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out = {}
        for field, value in detail.items():
            if isinstance(value, dict):
                for sub, messages in _field_errors(value).items():
                    out[f"{field}.{sub}"] = messages
            else:
                out[str(field)] = _flatten(value)
        return out
    return {"non_field_errors": _flatten(detail)}


def error_response(
    status_code: int, detail: str, code: str, errors: dict | None = None, headers=None
) -> Response:
    return Response(
        {"detail": detail, "code": code, "errors": errors or {}}, status=status_code, headers=headers
    )


def service_error_response(error: DomainError) -> Response:
    """A refusal by a service: 403 when the person may not, 409 when the incident's state forbids it."""
    if isinstance(error, NotAllowed):
        return error_response(status.HTTP_403_FORBIDDEN, str(error), "permission_denied")
    return error_response(status.HTTP_409_CONFLICT, str(error), "conflict")


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return service_error_response(exc)
    if isinstance(exc, OperationalError | InterfaceError):
        # The database is down or cut off: nothing was written, and the same call
        # will work once it is back. A 503 says "retry" (a 500 says "bug").
        logger.warning("API: database unavailable", exc_info=True)
        return error_response(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "The database is unavailable; retry later.",
            "unavailable",
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        # A bug: left to Django, which logs and reports it, and whose handler500
        # (config.api.server_error) answers a 500 in this error format.
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        first = next(iter(errors.values()), ["Invalid input."])
        detail = first[0] if len(errors) == 1 and len(first) == 1 else "The request has invalid fields."
        response.data = {"detail": detail, "code": "invalid", "errors": errors}
        return response
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
    response.data = {
        "detail": " ".join(_flatten(detail)),
        "code": codes if isinstance(codes, str) else "error",
        "errors": {},
    }
    return response

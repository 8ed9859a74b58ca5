"""The error answers each operation documents, reading a request body through a serializer, and the
schema class that keeps the OpenAPI document true to what the API answers (checked by schemathesis)."""

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse

from core.api.serializers import ErrorSerializer

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input"),
    401: OpenApiResponse(ErrorSerializer, description="No or bad token"),
    403: OpenApiResponse(ErrorSerializer, description="Not allowed"),
    404: OpenApiResponse(ErrorSerializer, description="No such object (or not visible to you)"),
    409: OpenApiResponse(ErrorSerializer, description="The incident's state forbids it"),
}

# Answers any operation can give whatever its view declares (see AutoSchema).
_GENERAL_ERRORS = {
    400: "Invalid input (a malformed or too deeply nested body, a NUL character in the query or a header)",
    401: "No or bad token",
    403: "Not allowed",
    404: "No such object (or not visible to you), or no such page of results",
    409: "The incident's state forbids it",
    413: "The body is larger than INTEGRATION_MAX_BODY_BYTES",
    415: "The body is not application/json",
}


def error_responses(*codes: int) -> dict:
    """The documented error answers of an operation: always 401, and these."""
    return {code: ERRORS[code] for code in (401, *codes)}


def validated(serializer_class, request) -> dict:
    """The request body as the serializer reads it; a 400 in the error format otherwise."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _model_field_may_be_blank(field) -> bool:
    """Whether a ModelSerializer field reads a text column that may be "" (blank=True).

    DRF drops allow_blank from read-only fields, so the schema would promise a
    URL or an enum value where the API answers "" (an empty bridge URL, a page
    without a role).
    """
    model = getattr(getattr(getattr(field, "parent", None), "Meta", None), "model", None)
    source = getattr(field, "source", "") or ""
    if model is None or not source or "." in source or source == "*":
        return False
    try:
        model_field = model._meta.get_field(source)
    except FieldDoesNotExist:
        return False
    return isinstance(model_field, (models.CharField, models.TextField)) and model_field.blank


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, with the answers every operation can give and blank text fields as they are.

    - Every operation documents 400 (the body, the query or a header can be
      refused before the view runs) and 401; with a path parameter or a page of
      results, 404 (`?page=0` is "Invalid page."); a write, 403 and 409 (any
      service may refuse: core.api.errors); one with a body, 413 and 415.
    - A read-only text field whose column may be blank says so ("" besides
      the URL or the enum).
    """

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        parameters = operation.get("parameters", [])
        codes = {400, 401}
        if any(p["in"] == "path" for p in parameters) or any(
            p["in"] == "query" and p["name"] == "page" for p in parameters
        ):
            codes.add(404)
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            codes |= {403, 409}
        if "requestBody" in operation:
            codes |= {413, 415}
        responses = operation["responses"]
        for code in codes:
            if str(code) not in responses:
                response = OpenApiResponse(ErrorSerializer, description=_GENERAL_ERRORS[code])
                responses[str(code)] = self._get_response_for_code(response, str(code))
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        if (
            getattr(field, "read_only", False)
            and getattr(field, "allow_blank", None) is False
            and _model_field_may_be_blank(field)
        ):
            field.allow_blank = True
        return super()._map_serializer_field(field, direction, bypass_extensions)

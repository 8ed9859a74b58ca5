"""The error answers each operation documents, and reading a request body through a serializer."""

from drf_spectacular.utils import OpenApiResponse

from core.api.serializers import ErrorSerializer

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input"),
    401: OpenApiResponse(ErrorSerializer, description="No or bad token"),
    403: OpenApiResponse(ErrorSerializer, description="Not allowed"),
    404: OpenApiResponse(ErrorSerializer, description="No such object (or not visible to you)"),
    409: OpenApiResponse(ErrorSerializer, description="The incident's state forbids it"),
}


def error_responses(*codes: int) -> dict:
    """The documented error answers of an operation: always 401, and these."""
    return {code: ERRORS[code] for code in (401, *codes)}


def validated(serializer_class, request) -> dict:
    """The request body as the serializer reads it; a 400 in the error format otherwise."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data

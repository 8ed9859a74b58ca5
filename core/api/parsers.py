"""Reading JSON bodies: the API's parser, and the checks every JSON endpoint shares.

A JSON body is refused with a 4xx, before anything reads it further, when it is
nested deeper than MAX_JSON_DEPTH, holds a NUL character (PostgreSQL stores no
NUL in text, and a database error would be a 500, or a 503 that alert senders
retry for ever), an unpaired surrogate (no UTF-8 text has one), or NaN/Infinity.
"""

import json
import re
from typing import Any

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser, get_encoding

# No payload the portal reads goes deeper than a few levels; PagerDuty's free-form
# custom_details get some room.
MAX_JSON_DEPTH = 64

_SURROGATE = re.compile("[\ud800-\udfff]")


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"


class JSONInputError(Exception):
    """A JSON body that cannot be used; `path` names the offending value ("" for the whole body)."""

    def __init__(self, message: str, *, path: str = "", code: str = "malformed_json"):
        super().__init__(message)
        self.message = message
        self.path = path
        self.code = code


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _may_need_a_look(raw: str | bytes) -> bool:
    """Whether the parsed data could hold a NUL, a surrogate or deep nesting (a C-speed look).

    A NUL or a surrogate in parsed JSON comes from a \\u escape (or, in bytes that
    json decodes itself, a NUL or a UTF-8 surrogate's 0xED lead byte); nesting
    deeper than MAX_JSON_DEPTH needs more brackets than that.
    """
    if isinstance(raw, bytes):
        brackets = raw.count(b"[") + raw.count(b"{")
        return brackets > MAX_JSON_DEPTH or b"\\u" in raw or b"\x00" in raw or b"\xed" in raw
    brackets = raw.count("[") + raw.count("{")
    return brackets > MAX_JSON_DEPTH or "\\u" in raw or "\x00" in raw or bool(_SURROGATE.search(raw))


def _text_problem(text: str) -> str:
    if "\x00" in text:
        return "Null characters (U+0000) are not allowed."
    if _SURROGATE.search(text):
        return "Unpaired surrogates (U+D800 to U+DFFF) are not text and are not allowed."
    return ""


def _shown(key: str) -> str:
    return key.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode()


def _check(data: Any) -> None:
    """Walk the parsed data without recursion; raise JSONInputError at the first bad value."""
    if isinstance(data, str):
        problem = _text_problem(data)
        if problem:
            raise JSONInputError(problem, code="invalid")
        return
    stack: list[tuple[Any, str, int]] = [(data, "", 1)] if isinstance(data, (dict, list)) else []
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise JSONInputError(f"The JSON is nested deeper than {MAX_JSON_DEPTH} levels.", code="too_deep")
        if isinstance(value, dict):
            items = []
            for key, item in value.items():
                where = f"{path}.{_shown(key)}" if path else _shown(key)
                problem = _text_problem(key)
                if problem:
                    raise JSONInputError(f"A key in {where!r}: {problem}", path=where, code="invalid")
                items.append((where, item))
        else:
            items = [(f"{path}[{i}]", item) for i, item in enumerate(value)]
        for where, item in items:
            if isinstance(item, str):
                problem = _text_problem(item)
                if problem:
                    raise JSONInputError(problem, path=where, code="invalid")
            elif isinstance(item, (dict, list)):
                stack.append((item, where, depth + 1))


def json_loads(raw: str | bytes) -> Any:
    """Parse a JSON body strictly; JSONInputError for anything the portal cannot use."""
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        # The C parser gives up thousands of levels down, within a few milliseconds.
        raise JSONInputError(
            f"The JSON is nested deeper than {MAX_JSON_DEPTH} levels.", code="too_deep"
        ) from None
    except (UnicodeDecodeError, ValueError) as error:
        raise JSONInputError(f"The body is not valid JSON: {error}") from None
    if _may_need_a_look(raw):
        _check(data)
    return data


class LimitedJSONParser(JSONParser):
    """JSON, refused past INTEGRATION_MAX_BODY_BYTES (512 KB) before it is read, and checked by json_loads.

    A NUL or surrogate answers 400 with the path of the value in `errors`;
    deep nesting, NaN and malformed JSON answer 400 `parse_error`.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.INTEGRATION_MAX_BODY_BYTES
        parser_context = parser_context or {}
        request = parser_context.get("request")
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        except ValueError:
            declared = 0
        if declared > limit:
            raise RequestTooLarge(f"The body is larger than {limit // 1024} KB.")
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestTooLarge(f"The body is larger than {limit // 1024} KB.")
        try:
            text = raw.decode(get_encoding(parser_context))
        except UnicodeDecodeError as error:
            raise exceptions.ParseError(f"JSON parse error - {error}") from None
        try:
            return json_loads(text)
        except JSONInputError as error:
            if error.path:
                raise exceptions.ValidationError({error.path: [error.message]}) from None
            raise exceptions.ParseError(f"JSON parse error - {error.message}") from None

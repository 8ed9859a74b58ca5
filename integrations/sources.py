"""Reading the wire formats (Alertmanager webhook v4, PagerDuty Events API v2) into alert service calls.

Parsing is strict about shape and types and says exactly what is wrong, so
that a 4xx tells the sender what to fix; nothing is written until the whole
payload has been read.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.http import HttpRequest
from django.utils.dateparse import parse_datetime

from core.api.parsers import JSONInputError, json_loads
from integrations.alerts import MAX_DEDUP_KEY, FiringAlert
from integrations.models import AlertSettings
from roles.models import Service


class PayloadError(Exception):
    """The request cannot be processed as sent; `status` is the HTTP answer (4xx)."""

    def __init__(
        self,
        message: str,
        errors: list[str] | dict | None = None,
        *,
        status: int = 400,
        code: str = "invalid",
    ):
        super().__init__(message)
        self.message = message
        self.errors = errors if errors is not None else [message]
        self.status = status
        self.code = code


def max_body_bytes() -> int:
    return settings.INTEGRATION_MAX_BODY_BYTES


def read_body(request: HttpRequest) -> bytes:
    """The raw body, refused (413) past the limit without reading more than limit + 1 bytes."""
    limit = max_body_bytes()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    too_big = PayloadError(f"The body is larger than {limit // 1024} KB.", status=413, code="body_too_large")
    if declared > limit:
        raise too_big
    body = request.read(limit + 1)
    if len(body) > limit:
        raise too_big
    return body


def parse_json_object(body: bytes) -> dict:
    """The body as a JSON object; a 400 for malformed JSON, deep nesting, NUL or unpaired surrogates.

    Those are refused here, before the key is checked or anything is written: a
    database error they would cause later is a 5xx, which senders retry for ever.
    """
    try:
        data = json_loads(body)
    except JSONInputError as error:
        where = f"'{error.path}': " if error.path else ""
        raise PayloadError(error.message, [where + error.message], code=error.code) from None
    if not isinstance(data, dict):
        raise PayloadError("The body must be a JSON object.", code="malformed_json")
    return data


def bearer_token(request: HttpRequest) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def service_for_key(key: str):
    if not key or len(key) > 64:
        return None
    return Service.objects.select_related("alert_settings").filter(integration_key=key).first()


# --- Prometheus Alertmanager (webhook payload version 4) --------------------------------------


@dataclass(frozen=True)
class AlertmanagerNotification:
    dedup_key: str
    group_key: str
    status: str  # firing | resolved
    summary: str
    severity_value: str | None
    details: str
    firing: list[FiringAlert]
    resolved: list[FiringAlert]
    external_url: str
    receiver: str


def _string_map(value, name: str, errors: list[str]) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        errors.append(f"'{name}' must be an object of string values.")
        return {}
    return value


def _time(value, name: str, errors: list[str]) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        errors.append(f"'{name}' must be an RFC 3339 time string.")
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        errors.append(f"'{name}' is not an RFC 3339 time: {value[:40]!r}.")
    return parsed


def _alert_text(labels: dict, annotations: dict, starts: datetime | None) -> str:
    name = labels.get("alertname", "alert")
    where = labels.get("instance") or labels.get("job") or ""
    what = annotations.get("summary") or annotations.get("description") or ""
    text = name + (f" on {where}" if where else "") + (f": {what}" if what else "")
    if starts is not None and starts.year > 1:
        text += f" (since {starts:%Y-%m-%d %H:%M:%S} UTC)"
    return text[:1000]


def parse_alertmanager(data: dict, alert_settings: AlertSettings) -> AlertmanagerNotification:
    errors: list[str] = []
    version = data.get("version")
    if version != "4":
        errors.append(f"'version' must be \"4\" (Alertmanager webhook payload version 4), not {version!r}.")
    group_key = data.get("groupKey")
    if not isinstance(group_key, str) or not group_key:
        errors.append("'groupKey' is missing or not a string.")
        group_key = ""
    status = data.get("status")
    if status not in ("firing", "resolved"):
        errors.append('\'status\' must be "firing" or "resolved".')
    group_labels = _string_map(data.get("groupLabels"), "groupLabels", errors)
    common_labels = _string_map(data.get("commonLabels"), "commonLabels", errors)
    common_annotations = _string_map(data.get("commonAnnotations"), "commonAnnotations", errors)
    external_url = data.get("externalURL") or ""
    receiver = data.get("receiver") or ""
    if not isinstance(external_url, str) or not isinstance(receiver, str):
        errors.append("'externalURL' and 'receiver' must be strings.")
        external_url, receiver = "", ""
    alerts = data.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        errors.append("'alerts' must be a non-empty list.")
        alerts = []
    if len(alerts) > 1000:
        errors.append("'alerts' has more than 1000 alerts.")
        alerts = []

    firing: list[FiringAlert] = []
    resolved: list[FiringAlert] = []
    severities: list[str] = []
    alert_summaries: list[str] = []
    for i, alert in enumerate(alerts):
        where = f"alerts[{i}]"
        if not isinstance(alert, dict):
            errors.append(f"'{where}' must be an object.")
            continue
        alert_status = alert.get("status")
        if alert_status not in ("firing", "resolved"):
            errors.append(f'\'{where}.status\' must be "firing" or "resolved".')
            continue
        labels = _string_map(alert.get("labels"), f"{where}.labels", errors)
        annotations = _string_map(alert.get("annotations"), f"{where}.annotations", errors)
        starts = _time(alert.get("startsAt"), f"{where}.startsAt", errors)
        _time(alert.get("endsAt"), f"{where}.endsAt", errors)
        fingerprint = alert.get("fingerprint") or ""
        if not isinstance(fingerprint, str):
            errors.append(f"'{where}.fingerprint' must be a string.")
            continue
        if not fingerprint:
            # Older senders: the labels identify the alert.
            fingerprint = hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
        key = f"{fingerprint}@{alert.get('startsAt') or ''}"
        item = FiringAlert(key=key, text=_alert_text(labels, annotations, starts), occurred_at=starts)
        (firing if alert_status == "firing" else resolved).append(item)
        if alert_status == "firing" and (annotations.get("summary") or annotations.get("description")):
            alert_summaries.append(annotations.get("summary") or annotations["description"])
        if alert_settings.severity_label in labels:
            severities.append(labels[alert_settings.severity_label])
    if errors:
        raise PayloadError("The Alertmanager payload is invalid.", errors, code="invalid_payload")

    severity_value = common_labels.get(alert_settings.severity_label)
    if severity_value is None and severities:
        # No common severity: the most severe of the alerts decides.
        severity_value = min(severities, key=alert_settings.severity_for)
    name = group_labels.get("alertname") or common_labels.get("alertname") or ""
    what = common_annotations.get("summary") or common_annotations.get("description") or ""
    if not what and alert_summaries:
        # No summary common to the group: the first alert's, and how many more.
        what = alert_summaries[0] + (f" (+{len(firing) - 1} more)" if len(firing) > 1 else "")
    if name and what:
        summary = f"[{name}]: {what}"
    else:
        summary = (
            what or name or ", ".join(f"{k}={v}" for k, v in group_labels.items()) or "Alertmanager alert"
        )
    details = common_annotations.get("description", "")
    if external_url:
        details = (details + f"\n\nAlertmanager: {external_url}").strip()
    dedup_key = group_key
    if len(dedup_key) > MAX_DEDUP_KEY:
        dedup_key = "sha256:" + hashlib.sha256(group_key.encode()).hexdigest()
    return AlertmanagerNotification(
        dedup_key=dedup_key,
        group_key=group_key,
        status=status,
        summary=summary,
        severity_value=severity_value,
        details=details,
        firing=firing,
        resolved=resolved,
        external_url=external_url,
        receiver=receiver,
    )


# --- PagerDuty Events API v2 -------------------------------------------------------------------

PD_ACTIONS = ("trigger", "acknowledge", "resolve")
PD_SEVERITIES = ("critical", "error", "warning", "info")


@dataclass(frozen=True)
class PagerDutyEvent:
    routing_key: str
    action: str
    dedup_key: str
    summary: str = ""
    severity: str = ""
    details: str = ""
    client: str = ""


def _pd_string(
    payload: dict, name: str, errors: list[str], *, limit: int, required: bool = False, where: str = ""
) -> str:
    value = payload.get(name)
    label = f"{where}{name}"
    if value is None or value == "":
        if required:
            errors.append(f"'{label}' is missing or blank")
        return ""
    if not isinstance(value, str):
        errors.append(f"'{label}' must be a string")
        return ""
    if len(value) > limit:
        errors.append(f"Length of '{label}' is greater than {limit} characters")
    return value


def parse_pagerduty(data: dict) -> PagerDutyEvent:
    errors: list[str] = []
    routing_key = _pd_string(data, "routing_key", errors, limit=64, required=True)
    action = _pd_string(data, "event_action", errors, limit=32, required=True)
    if action and action not in PD_ACTIONS:
        errors.append("'event_action' is invalid (trigger, acknowledge or resolve)")
    dedup_key = _pd_string(data, "dedup_key", errors, limit=MAX_DEDUP_KEY)
    client = _pd_string(data, "client", errors, limit=1024)
    _pd_string(data, "client_url", errors, limit=2048)
    for name in ("links", "images"):
        value = data.get(name)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
            errors.append(f"'{name}' must be a list of objects")
    summary = severity = details = ""
    if action == "trigger":
        payload = data.get("payload")
        if not isinstance(payload, dict):
            errors.append("'payload' is missing or not an object")
        else:
            summary = _pd_string(payload, "summary", errors, limit=1024, required=True, where="payload.")
            _pd_string(payload, "source", errors, limit=255, required=True, where="payload.")
            severity = _pd_string(payload, "severity", errors, limit=16, required=True, where="payload.")
            if severity and severity not in PD_SEVERITIES:
                errors.append("'payload.severity' is invalid (critical, error, warning or info)")
            for name in ("timestamp", "component", "group", "class"):
                _pd_string(payload, name, errors, limit=255, where="payload.")
            if payload.get("timestamp"):
                try:
                    ok = parse_datetime(payload["timestamp"]) is not None
                except (TypeError, ValueError):
                    ok = False
                if not ok:
                    errors.append("'payload.timestamp' is not an ISO 8601 time")
            custom = payload.get("custom_details")
            if custom is not None and not isinstance(custom, (dict, str)):
                errors.append("'payload.custom_details' must be an object")
            lines = [f"Source: {payload.get('source')}"]
            for name in ("component", "group", "class"):
                if isinstance(payload.get(name), str) and payload[name]:
                    lines.append(f"{name.capitalize()}: {payload[name]}")
            if custom:
                lines.append(
                    "Details: "
                    + (custom if isinstance(custom, str) else json.dumps(custom, sort_keys=True))[:5000]
                )
            if client:
                lines.append(f"Client: {client}")
            details = "\n".join(lines)
    elif action in ("acknowledge", "resolve") and not dedup_key:
        errors.append(f"'dedup_key' is required for {action} events")
    if errors:
        raise PayloadError("Event object is invalid", errors, code="invalid_event")
    if action == "trigger" and not dedup_key:
        # PagerDuty's rule: no key, a new alert every time.
        dedup_key = uuid.uuid4().hex
    return PagerDutyEvent(
        routing_key=routing_key,
        action=action,
        dedup_key=dedup_key,
        summary=summary,
        severity=severity,
        details=details,
        client=client,
    )

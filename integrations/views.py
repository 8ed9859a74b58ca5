"""Endpoints other software calls with a key, not a session: CSRF does not apply (csrf_exempt).
At the end, the signed-in person's Slack page (a session, CSRF as everywhere).

Alertmanager retries only on 5xx and PagerDuty clients retry on 5xx and 429:
answers are 4xx for anything a retry cannot fix, and 503 only when the
database could not be reached or gave up (a retry can help).
"""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, DataError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from incidents.services import IncidentError
from integrations import alerts, metrics
from integrations.models import AlertGroup, AlertSettings, SlackIdentity
from integrations.slack import SlackRequest, command_run, signature_is_valid
from integrations.slack_links import slack_link_code_issue, slack_unlink
from integrations.sources import (
    PayloadError,
    bearer_token,
    parse_alertmanager,
    parse_json_object,
    parse_pagerduty,
    read_body,
    service_for_key,
)

logger = logging.getLogger(__name__)


def _error(status: int, detail: str, code: str, errors=None) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code, "errors": errors or {}}, status=status)


_DATA_ERROR = "A value in the payload cannot be stored (too long, out of range or not text)."


def _unavailable() -> JsonResponse:
    response = _error(503, "The database is unavailable; retry later.", "unavailable")
    response["Retry-After"] = "5"
    return response


@csrf_exempt
@require_POST
@metrics.counted("alertmanager")
def alertmanager_webhook(request: HttpRequest) -> JsonResponse:
    key = bearer_token(request)
    if not key:
        return _error(
            401, "Send the service's integration key as 'Authorization: Bearer <key>'.", "not_authenticated"
        )
    try:
        data = parse_json_object(read_body(request))
        # Alertmanager re-sends its groups on every interval: a notification whose
        # alerts the open group has all seen is counted in one statement (which also
        # checks the key), before anything else is read. Identities do not depend on
        # the service's settings, so the defaults do for this first reading.
        notification = parse_alertmanager(data, AlertSettings())
        if (
            notification.status == "firing"
            and not notification.resolved
            and alerts.alert_count_duplicate(
                integration_key=key,
                dedup_key=notification.dedup_key,
                alert_keys=[a.key for a in notification.firing],
            )
        ):
            metrics.mark_deduplicated(request)
            return JsonResponse({"status": "ok", "incident": None, "created": False, "recorded": False})
        service = service_for_key(key)
        if service is None:
            return _error(401, "No service has this integration key.", "invalid_integration_key")
        notification = parse_alertmanager(data, alerts.alert_settings_for(service))
        source = AlertGroup.Source.ALERTMANAGER
        extra = {"group_key": notification.group_key[:1000], "receiver": notification.receiver}
        if notification.status == "resolved":
            outcome = alerts.alert_resolve(
                service=service,
                dedup_key=notification.dedup_key,
                source=source,
                cleared=notification.resolved or notification.firing,
            )
        else:
            settings_ = alerts.alert_settings_for(service)
            outcome = alerts.alert_trigger(
                service=service,
                source=source,
                dedup_key=notification.dedup_key,
                summary=notification.summary,
                severity=settings_.severity_for(notification.severity_value),
                details=notification.details,
                alerts=notification.firing,
                data=extra,
            )
            if not outcome.created:
                metrics.mark_deduplicated(request)
            if notification.resolved:
                alerts.alert_cleared_partly(
                    service=service,
                    dedup_key=notification.dedup_key,
                    source=source,
                    cleared=notification.resolved,
                )
    except PayloadError as error:
        return _error(error.status, str(error), error.code, {"payload": error.errors})
    except IncidentError as error:
        return _error(400, str(error), "invalid")
    except DataError:
        # A value the database refuses (too long, out of range): the same payload
        # would fail again, so a 4xx, not a 503 that Alertmanager retries for ever.
        logger.error("Alertmanager notification refused by the database", exc_info=True)
        return _error(400, _DATA_ERROR, "invalid")
    except DatabaseError:
        logger.warning("Alertmanager notification not processed: database error", exc_info=True)
        return _unavailable()
    group = outcome.group
    return JsonResponse(
        {
            "status": "ok",
            "incident": group.incident.number if group is not None else None,
            "created": outcome.created,
            "recorded": outcome.changed,
        }
    )


def _pd_invalid(message: str, errors: list[str], status: int = 400) -> JsonResponse:
    return JsonResponse({"status": "invalid event", "message": message, "errors": errors}, status=status)


@csrf_exempt
@require_POST
@metrics.counted("pagerduty")
def pagerduty_enqueue(request: HttpRequest) -> JsonResponse:
    try:
        event = parse_pagerduty(parse_json_object(read_body(request)))
        if event.action == "trigger" and alerts.alert_count_duplicate(
            integration_key=event.routing_key, dedup_key=event.dedup_key, summary=event.summary
        ):
            # A duplicate of an open alert: counted, nothing else to do (the hot path of a burst).
            metrics.mark_deduplicated(request)
            return JsonResponse(
                {"status": "success", "message": "Event processed", "dedup_key": event.dedup_key}, status=202
            )
        service = service_for_key(event.routing_key)
        if service is None:
            return _pd_invalid("Event object is invalid", ["Invalid routing key"])
        source = AlertGroup.Source.PAGERDUTY
        if event.action == "trigger":
            outcome = alerts.alert_trigger(
                service=service,
                source=source,
                dedup_key=event.dedup_key,
                summary=event.summary,
                severity=alerts.alert_settings_for(service).severity_for(event.severity),
                details=event.details,
                data={"client": event.client[:200]} if event.client else None,
            )
            if not outcome.created:
                metrics.mark_deduplicated(request)
        elif event.action == "acknowledge":
            alerts.alert_acknowledge(service=service, dedup_key=event.dedup_key, source=source)
        else:
            alerts.alert_resolve(service=service, dedup_key=event.dedup_key, source=source)
    except PayloadError as error:
        errors = error.errors if isinstance(error.errors, list) else [str(error)]
        return _pd_invalid(str(error), errors, status=error.status)
    except IncidentError as error:
        return _pd_invalid("Event object is invalid", [str(error)])
    except DataError:
        logger.error("PagerDuty event refused by the database", exc_info=True)
        return _pd_invalid("Event object is invalid", [_DATA_ERROR])
    except DatabaseError:
        logger.warning("PagerDuty event not processed: database error", exc_info=True)
        return JsonResponse(
            {"status": "error", "message": "The database is unavailable; retry later."},
            status=503,
            headers={"Retry-After": "5"},
        )
    return JsonResponse(
        {"status": "success", "message": "Event processed", "dedup_key": event.dedup_key}, status=202
    )


@csrf_exempt
@require_POST
def slack_command(request: HttpRequest) -> JsonResponse:
    secret = settings.SLACK_SIGNING_SECRET
    if not secret:
        raise Http404("Slack commands are not set up (SLACK_SIGNING_SECRET).")
    try:
        body = read_body(request)
    except PayloadError as error:
        return _error(error.status, str(error), error.code)
    if not signature_is_valid(
        secret=secret,
        timestamp=request.headers.get("X-Slack-Request-Timestamp", ""),
        body=body,
        signature=request.headers.get("X-Slack-Signature", ""),
    ):
        return _error(401, "The Slack signature is missing, wrong or too old.", "bad_signature")
    try:
        form = QueryDict(body.decode())
    except UnicodeDecodeError:
        return _error(400, "The body is not form data.", "invalid")
    if form.get("command") and not form.get("command", "").startswith("/"):
        return _error(400, "Not a slash command.", "invalid")
    if any("\x00" in key or any("\x00" in v for v in values) for key, values in form.lists()):
        # PostgreSQL stores no NUL; a lookup with one would look like a database outage.
        return _error(400, "Null characters (U+0000) are not allowed.", "invalid")
    slack_request = SlackRequest(
        text=form.get("text", "")[:4000],
        user_id=form.get("user_id", "")[:40],
        user_name=form.get("user_name", "")[:150],
        channel_id=form.get("channel_id", "")[:40],
        team_id=form.get("team_id", "")[:40],
        response_url=form.get("response_url", "")[:500],
    )
    try:
        answer = command_run(slack_request)
    except DatabaseError:
        logger.warning("Slack command not processed: database error", exc_info=True)
        return JsonResponse(
            {"response_type": "ephemeral", "text": "Coolhead cannot reach its database; try again."}
        )
    return JsonResponse(answer)


# --- The signed-in person's Slack page: link codes and links -------------------------------------


@login_required
def slack_settings(request: HttpRequest) -> HttpResponse:
    code = None
    if request.method == "POST":
        code = slack_link_code_issue(user=request.user)
    return render(
        request,
        "integrations/slack_settings.html",
        {
            "code": code,
            "code_minutes": settings.SLACK_LINK_CODE_MAX_AGE_SECONDS // 60,
            "identities": SlackIdentity.objects.filter(user=request.user).order_by("-linked_at"),
            "slack_on": bool(settings.SLACK_SIGNING_SECRET),
        },
    )


@login_required
@require_POST
def slack_unlink_view(request: HttpRequest, identity_id: int) -> HttpResponse:
    identity = get_object_or_404(SlackIdentity, pk=identity_id, user=request.user)
    slack_unlink(identity=identity)
    messages.success(request, "Unlinked: that Slack account no longer acts as you.")
    return redirect("slack_settings")

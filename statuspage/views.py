import hashlib
import json
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import parse_etags
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from incidents.selectors import incident_get
from statuspage import permissions, public_cache, selectors, services
from statuspage.documents import JSON_TYPE
from statuspage.forms import PublicUpdateForm, SubscribeForm
from statuspage.models import (
    PUBLISHABLE_STATUSES,
    Component,
    ComponentStatus,
    IncidentStatus,
    PublicIncident,
    Subscriber,
)
from statuspage.services import StatuspageError

logger = logging.getLogger(__name__)

# --- The public, cookie-free documents ------------------------------------------------------------
#
# These views never touch request.user, the session or the CSRF token, so no
# middleware adds Set-Cookie or Vary: Cookie, and a shared cache may keep them.


def _cache_control() -> str:
    return (
        f"public, max-age={settings.STATUSPAGE_MAX_AGE}, "
        f"stale-while-revalidate={settings.STATUSPAGE_STALE_WHILE_REVALIDATE}, stale-if-error=86400"
    )


def _not_found(what: str) -> HttpResponse:
    return HttpResponse(
        f"There is no such {what} on this status page.\n", status=404, content_type="text/plain"
    )


def serve_document(request: HttpRequest, name: str, *, what: str = "page") -> HttpResponse:
    fresh = settings.STATUSPAGE_ALLOW_CACHE_BYPASS and request.GET.get("fresh") == "1"
    try:
        doc = public_cache.render_fresh(name) if fresh else public_cache.lookup(name)
    except public_cache.Unavailable:
        response = HttpResponse(
            "The status page is being refreshed; try again in a minute.\n",
            status=503,
            content_type="text/plain",
        )
        response["Retry-After"] = "30"
        return response
    if doc is None:
        return _not_found(what)
    headers = {"ETag": doc.etag, "Cache-Control": _cache_control()}
    if doc.content_type == JSON_TYPE:
        # Dashboards read the Statuspage API from browsers on other origins.
        headers["Access-Control-Allow-Origin"] = "*"
    wanted = parse_etags(request.headers.get("If-None-Match", ""))
    if "*" in wanted or doc.etag in wanted or f"W/{doc.etag}" in wanted:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(doc.body, content_type=doc.content_type)
    for header, value in headers.items():
        response[header] = value
    return response


@require_safe
def page(request: HttpRequest) -> HttpResponse:
    return serve_document(request, "page")


@require_safe
def history(request: HttpRequest) -> HttpResponse:
    return serve_document(request, "history")


@require_safe
def incident(request: HttpRequest, public_id: str) -> HttpResponse:
    return serve_document(request, f"incident:{public_id}", what="incident")


@require_safe
def maintenance_ics(request: HttpRequest, public_id: str) -> HttpResponse:
    return serve_document(request, f"ics:{public_id}", what="maintenance")


@require_safe
def feed_atom(request: HttpRequest) -> HttpResponse:
    return serve_document(request, "feed/atom")


@require_safe
def feed_rss(request: HttpRequest) -> HttpResponse:
    return serve_document(request, "feed/rss")


@require_safe
def api(request: HttpRequest, endpoint: str) -> HttpResponse:
    return serve_document(request, f"api/{endpoint}", what="endpoint")


# --- Subscribing (its own pages: these may set the CSRF cookie) ------------------------------------


def _public_context(**extra) -> dict:
    page_settings = selectors.page_settings()
    context = {"page": page_settings, "tz_name": page_settings.time_zone}
    context.update(extra)
    return context


def _client_address(request: HttpRequest) -> str:
    # Behind a proxy, configure it to set REMOTE_ADDR (gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _rate_limited(request: HttpRequest) -> bool:
    """Count this attempt for the client address; True when it is over the limit."""
    key = "statuspage:subscribe-rate:" + hashlib.sha256(_client_address(request).encode()).hexdigest()[:32]
    window = settings.STATUSPAGE_SUBSCRIBE_WINDOW_SECONDS
    try:
        cache.add(key, 0, timeout=window)
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    except Exception:  # noqa: BLE001 - with the cache down, double opt-in still guards the inboxes
        logger.warning("subscribe rate limit unavailable (cache down)")
        return False
    return count > settings.STATUSPAGE_SUBSCRIBE_LIMIT


def _subscribable_components() -> list[Component]:
    return list(Component.objects.filter(is_group=False).order_by("group__position", "position", "name"))


@require_http_methods(["GET", "HEAD", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    components = _subscribable_components()
    form = SubscribeForm(request.POST or None, components=components)
    template = "statuspage/public/subscribe.html"
    if request.method == "POST":
        if _rate_limited(request):
            minutes = max(1, settings.STATUSPAGE_SUBSCRIBE_WINDOW_SECONDS // 60)
            response = render(
                request,
                "statuspage/public/rate_limited.html",
                _public_context(minutes=minutes),
                status=429,
            )
            response["Retry-After"] = str(settings.STATUSPAGE_SUBSCRIBE_WINDOW_SECONDS)
            return response
        if form.is_valid():
            try:
                subscriber = services.subscriber_subscribe(
                    kind=form.cleaned_data["kind"],
                    email=form.cleaned_data["email"],
                    webhook_url=form.cleaned_data["webhook_url"],
                    component_ids=form.cleaned_data["components"],
                )
            except StatuspageError as error:
                form.add_error(None, str(error))
            else:
                return render(
                    request, "statuspage/public/subscribe_done.html", _public_context(subscriber=subscriber)
                )
        return render(request, template, _public_context(form=form), status=400)
    return render(request, template, _public_context(form=form))


@require_safe
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = services.subscriber_confirm(token=token)
    except StatuspageError as error:
        return render(request, "statuspage/public/notice.html", _public_context(error=str(error)), status=404)
    return render(
        request,
        "statuspage/public/notice.html",
        _public_context(
            heading="Subscription confirmed",
            text=f"{subscriber} will hear about every incident and maintenance we publish. "
            "Each message has a one-click unsubscribe link.",
        ),
    )


@csrf_exempt  # RFC 8058 one-click unsubscribe: mail clients POST without a token; the URL is the secret.
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    if request.method != "POST":
        # A GET only asks: link scanners in mail systems must not unsubscribe people.
        if not Subscriber.objects.filter(token=token).exists():
            return render(
                request,
                "statuspage/public/notice.html",
                _public_context(error="This unsubscribe link is not valid."),
                status=404,
            )
        return render(request, "statuspage/public/unsubscribe.html", _public_context(token=token))
    try:
        services.subscriber_unsubscribe(token=token)
    except StatuspageError as error:
        return render(request, "statuspage/public/notice.html", _public_context(error=str(error)), status=404)
    return render(
        request,
        "statuspage/public/notice.html",
        _public_context(heading="Unsubscribed", text="You will not receive any more status updates from us."),
    )


# --- Publishing from the incident room ------------------------------------------------------------

PREVIEW_SALT = "statuspage.public-update.preview"


def _preview_digest(kwargs: dict) -> str:
    return hashlib.sha256(json.dumps(kwargs, sort_keys=True).encode()).hexdigest()


def _publishable_components() -> list[Component]:
    return list(Component.objects.filter(is_group=False).order_by("group__position", "position", "name"))


def _initial(incident, public_incident: PublicIncident | None) -> dict:
    if public_incident is None:
        status = IncidentStatus.INVESTIGATING
        # A security incident's internal title is not a public title: start empty on purpose.
        title = "" if incident.is_security else incident.title
    else:
        status = public_incident.status
        title = public_incident.name
    return {"title": title, "status": status, "body": _template_body(status), "deliver_notifications": True}


def _template_body(status: str) -> str:
    return selectors.update_template(status).replace("{components}", "some of our services")


@login_required
@require_http_methods(["GET", "POST"])
def public_update(request: HttpRequest, number: int) -> HttpResponse:
    """Write, preview and publish a public update of an incident (liaison, IC or admin)."""
    incident = incident_get(user=request.user, number=number)
    if not permissions.may_publish_for(request.user, incident):
        return render(request, "statuspage/public_update_forbidden.html", {"incident": incident}, status=403)
    components = _publishable_components()
    public_incident = PublicIncident.objects.filter(incident=incident).prefetch_related("updates").first()
    context = {
        "incident": incident,
        "public_incident": public_incident,
        "templates": {s.value: _template_body(s) for s in PUBLISHABLE_STATUSES},
        "statuses": ComponentStatus,
    }
    if request.method == "GET":
        form = PublicUpdateForm(initial=_initial(incident, public_incident), components=components)
        return render(request, "statuspage/public_update.html", {**context, "form": form})

    action = request.POST.get("action", "preview")
    if action == "template":
        # "Use the template": the form again, with the message for the chosen status.
        data = request.POST.copy()
        status = data.get("status") if data.get("status") in IncidentStatus.values else "investigating"
        data["body"] = _template_body(status)
        initial = data.dict()
        # An unticked box is absent from the POST: keep it unticked rather than back to its default.
        for box in ("deliver_notifications", "confirm_restricted"):
            initial.setdefault(box, False)
        form = PublicUpdateForm(initial=initial, components=components)
        return render(request, "statuspage/public_update.html", {**context, "form": form})

    form = PublicUpdateForm(request.POST, components=components)
    if not form.is_valid():
        return render(request, "statuspage/public_update.html", {**context, "form": form}, status=400)
    kwargs = form.service_kwargs()
    try:
        plan = services.statuspage_check_update(incident=incident, by=request.user, **kwargs)
    except StatuspageError as error:
        form.add_error(None, str(error))
        return render(request, "statuspage/public_update.html", {**context, "form": form}, status=400)

    digest = _preview_digest(kwargs)
    if action == "publish":
        try:
            previewed = signing.loads(request.POST.get("preview_token", ""), salt=PREVIEW_SALT, max_age=3600)
        except signing.BadSignature:
            previewed = None
        if previewed == digest:
            try:
                services.statuspage_publish_update(incident=incident, by=request.user, **kwargs)
            except StatuspageError as error:
                form.add_error(None, str(error))
                return render(request, "statuspage/public_update.html", {**context, "form": form}, status=400)
            messages.success(request, "Public update published: the status page and subscribers have it.")
            return redirect(incident)
        context["stale_preview"] = True
    if action == "edit":
        return render(request, "statuspage/public_update.html", {**context, "form": form})
    page_settings = selectors.page_settings()
    preview_html = render_to_string(
        "statuspage/public/_preview.html",
        {"plan": plan, "page": page_settings, "tz_name": page_settings.time_zone, "now": timezone.now()},
    )
    return render(
        request,
        "statuspage/public_update_preview.html",
        {
            **context,
            "form": form,
            "plan": plan,
            "preview_html": preview_html,
            "preview_token": signing.dumps(digest, salt=PREVIEW_SALT),
            "subscriber_count": Subscriber.objects.filter(
                confirmed_at__isnull=False, unsubscribed_at__isnull=True
            ).count(),
        },
        status=409 if context.get("stale_preview") else 200,
    )

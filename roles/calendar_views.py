"""The on-call calendar: now and next, a schedule's week, shift swaps, and the secret .ics feeds."""

from datetime import date, datetime, timedelta

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from roles import calendars, forms, permissions, selectors, services
from roles.models import CalendarFeed, OnCallLevel, Schedule, ShiftSwap

User = get_user_model()

# The "my next shifts" list on the on-call page.
MY_SHIFTS_AHEAD = timedelta(days=14)
# How far the services table looks for the next change (an owner's out-of-office period).
SERVICE_NEXT_AHEAD = timedelta(days=7)
# Weeks a person can page to: far enough for any roster, near enough for dates to stay dates.
FIRST_WEEK, LAST_WEEK = date(2000, 1, 3), date(2200, 1, 1)


def _render(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    """Times on these pages are the viewer's own (their profile's time zone)."""
    tz = selectors.profile_for(request.user).tz
    with timezone.override(tz):
        return render(request, template, {**context, "tz": tz}, status=status)


def _services_now(now: datetime) -> list:
    """Who answers a page for each service now and next, by the rule paging itself uses."""
    return [
        services.service_oncall(service, now, ahead=SERVICE_NEXT_AHEAD)
        for service in selectors.services_with_owners(now).order_by("name")
    ]


def _my_next_shifts(user, schedules, now: datetime) -> list[calendars.Shift]:
    """Shifts running now or starting within MY_SHIFTS_AHEAD, whole (read a week beyond each end)."""
    start, end = now - timedelta(days=7), now + MY_SHIFTS_AHEAD + timedelta(days=7)
    shifts = [
        shift
        for schedule in schedules
        for shift in calendars.schedule_shifts(schedule, start, end)
        if shift.user.pk == user.pk and shift.ends_at > now and shift.starts_at < now + MY_SHIFTS_AHEAD
    ]
    return sorted(shifts, key=lambda s: (s.starts_at, s.schedule.name))


@login_required
def oncall(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    feed = CalendarFeed.objects.filter(user=request.user).first()
    # One read of every roster (with the overrides of the past week) for both lists.
    schedules = list(selectors.schedules_with_rosters_since(now - timedelta(days=7)))
    context = {
        "schedules": [
            selectors.ScheduleNow(s, selectors.oncall_at(s, now), selectors.oncall_next(s, now))
            for s in schedules
        ],
        "services": _services_now(now),
        "my_shifts": _my_next_shifts(request.user, schedules, now),
        "swaps": calendars.open_swaps_for(request.user),
        "feed_url": calendars.feed_url(feed) if feed else "",
        "feed": feed,
    }
    return _render(request, "roles/oncall.html", context)


def _week_start(request: HttpRequest) -> date | None:
    tz = selectors.profile_for(request.user).tz
    raw = request.GET.get("week", "")
    if not raw:
        return calendars.week_monday(timezone.localdate(timezone=tz))
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None
    if not FIRST_WEEK <= day <= LAST_WEEK:
        return None
    return calendars.week_monday(day)


@login_required
@require_GET
def schedule_week(request: HttpRequest, schedule_id: int) -> HttpResponse:
    monday = _week_start(request)
    if monday is None:
        return HttpResponse("The week is a date such as 2026-03-23.", status=400, content_type="text/plain")
    week = calendars.schedule_week(schedule_id, monday, selectors.profile_for(request.user).tz)
    if week is None:
        raise Http404("No such schedule")
    schedule = week.schedule
    feed = CalendarFeed.objects.filter(schedule=schedule).first()
    context = {
        "week": week,
        "schedule": schedule,
        "history": calendars.schedule_history(schedule),
        "swaps": ShiftSwap.objects.filter(schedule=schedule, status=ShiftSwap.Status.REQUESTED)
        .filter(ends_at__gt=timezone.now())
        .select_related("requester", "colleague")
        .order_by("starts_at")[:20],
        "feed_url": calendars.feed_url(feed) if feed else "",
        "feed": feed,
        "may_issue_feed": permissions.may_issue_feed(request.user, schedule=schedule),
        "today_week": calendars.week_monday(timezone.localdate(timezone=week.tz)),
        "now": timezone.now(),
    }
    return _render(request, "roles/schedule_week.html", context)


@login_required
@require_POST
def calendar_feed_issue(request: HttpRequest) -> HttpResponse:
    schedule_id = request.POST.get("schedule", "")
    schedule = None
    if schedule_id:
        if not schedule_id.isdigit():
            return HttpResponse("No such schedule.", status=400, content_type="text/plain")
        schedule = get_object_or_404(Schedule, pk=int(schedule_id))
    try:
        if schedule is not None:
            services.calendar_feed_issue(schedule=schedule, by=request.user)
        else:
            services.calendar_feed_issue(user=request.user, by=request.user)
    except services.IncidentError as error:
        status = 403 if isinstance(error, services.NotAllowed) else 409
        return HttpResponse(str(error), status=status, content_type="text/plain")
    messages.success(request, "The calendar address is ready. An address made before stopped working.")
    if schedule is not None:
        return redirect("roles:schedule_week", schedule_id=schedule.pk)
    return redirect("roles:oncall")


@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The .ics a calendar app subscribes to: no sign-in, the secret address is the key."""
    feed = calendars.feed_for_token(token)
    if feed is None or (feed.user is not None and not feed.user.is_active):
        raise Http404("No such calendar")
    if feed.user is not None:
        body = calendars.person_calendar(feed.user)
        name = "my-oncall-shifts"
    else:
        body = calendars.schedule_calendar(feed.schedule_id)
        name = f"oncall-{feed.schedule_id}"
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{name}.ics"'
    # The address is a secret: keep it out of shared caches and search engines.
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


# --- Shift swaps -------------------------------------------------------------------------------------


def _colleagues(schedule: Schedule, requester) -> QuerySet:
    people = User.objects.filter(is_active=True).exclude(pk=requester.pk)
    on_schedule = people.filter(
        Q(pk__in=schedule.layers.values("members__user")) | Q(pk__in=_team_members(schedule))
    )
    chosen = on_schedule if on_schedule.exists() else people
    return chosen.order_by("first_name", "last_name", "username")


def _team_members(schedule: Schedule):
    if schedule.team_id is None:
        return User.objects.none().values("pk")
    return schedule.team.members.values("pk")


def _initial_from_query(request: HttpRequest) -> dict:
    """The week view's "ask for cover" link carries the shift: level, start and end (ISO, UTC)."""
    initial: dict = {}
    level = request.GET.get("level", "")
    if level in {str(v) for v in OnCallLevel.values}:
        initial["level"] = int(level)
    for name, key in (("starts_at", "start"), ("ends_at", "end")):
        try:
            value = datetime.fromisoformat(request.GET.get(key, ""))
        except ValueError:
            continue
        if value.tzinfo is not None:
            initial[name] = timezone.localtime(value)
    return initial


@login_required
def swap_new(request: HttpRequest, schedule_id: int) -> HttpResponse:
    schedule = get_object_or_404(Schedule.objects.select_related("team"), pk=schedule_id)
    tz = selectors.profile_for(request.user).tz
    status = 200
    with timezone.override(tz):
        form = forms.SwapForm(
            request.POST or None,
            colleagues=_colleagues(schedule, request.user),
            initial=_initial_from_query(request),
        )
        if request.method == "POST":
            status = 422
            if form.is_valid():
                try:
                    swap = services.swap_request(
                        schedule=schedule, requester=request.user, **form.cleaned_data
                    )
                except services.IncidentError as error:
                    form.add_error(None, str(error))
                    status = 403 if isinstance(error, services.NotAllowed) else 422
                else:
                    messages.success(
                        request,
                        f"Asked {swap.colleague.get_full_name() or swap.colleague}: they are notified.",
                    )
                    return redirect("roles:swap", swap_id=swap.pk)
    return _render(request, "roles/swap_form.html", {"schedule": schedule, "form": form}, status=status)


def _swap(swap_id: int) -> ShiftSwap:
    return get_object_or_404(
        ShiftSwap.objects.select_related("schedule", "requester", "colleague", "override"), pk=swap_id
    )


@login_required
@require_GET
def swap_detail(request: HttpRequest, swap_id: int) -> HttpResponse:
    swap = _swap(swap_id)
    context = {
        "swap": swap,
        "may_answer": swap.is_open and permissions.may_answer_swap(request.user, swap),
        "may_cancel": swap.is_open and permissions.may_cancel_swap(request.user, swap),
        "week_of_swap": calendars.week_monday(
            timezone.localtime(swap.starts_at, selectors.profile_for(request.user).tz).date()
        ),
    }
    return _render(request, "roles/swap.html", context)


def _swap_action(request: HttpRequest, swap_id: int, action) -> HttpResponse:
    swap = _swap(swap_id)
    try:
        swap = action(swap=swap, by=request.user)
    except services.IncidentError as error:
        status = 403 if isinstance(error, services.NotAllowed) else 409
        context = {"swap": _swap(swap_id), "may_answer": False, "may_cancel": False, "error": str(error)}
        return _render(request, "roles/swap.html", context, status=status)
    return swap


@login_required
@require_POST
def swap_accept(request: HttpRequest, swap_id: int) -> HttpResponse:
    result = _swap_action(request, swap_id, services.swap_accept)
    if isinstance(result, HttpResponse):
        return result
    messages.success(request, "Thank you: you are on call for that time. It is on the calendar below.")
    tz = selectors.profile_for(request.user).tz
    monday = calendars.week_monday(timezone.localtime(result.override.starts_at, tz).date())
    url = reverse("roles:schedule_week", kwargs={"schedule_id": result.schedule_id})
    return redirect(f"{url}?week={monday.isoformat()}")


@login_required
@require_POST
def swap_decline(request: HttpRequest, swap_id: int) -> HttpResponse:
    result = _swap_action(request, swap_id, services.swap_decline)
    if isinstance(result, HttpResponse):
        return result
    messages.success(request, "Declined. They are told, so they can ask someone else.")
    return redirect("roles:swap", swap_id=swap_id)


@login_required
@require_POST
def swap_cancel(request: HttpRequest, swap_id: int) -> HttpResponse:
    result = _swap_action(request, swap_id, services.swap_cancel)
    if isinstance(result, HttpResponse):
        return result
    messages.success(request, "Swap cancelled.")
    return redirect("roles:swap", swap_id=swap_id)

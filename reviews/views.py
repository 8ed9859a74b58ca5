"""Review, follow-ups and insights pages: look up through a selector, check the form, call one service.

Writes answer with a redirect back to where the person was (and a message). A
refusal is the page again, with the reason and what was typed, as a 400 (the
form's shape), 403 (not this person's to do) or 422 (the rules refused it), and
nothing written; so every form works without JavaScript, and no client that
follows redirects mistakes a refusal for a success.
"""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.errors import DomainError, NotAllowed
from incidents.models import TimelineEntry
from incidents.selectors import incident_get
from reviews import blameless, charts, metrics, permissions, selectors, services
from reviews import forms as f
from reviews import insights as ins
from reviews.export import factor_tree, review_markdown
from reviews.models import ContributingFactor, FollowUp, Review
from reviews.record import review_record
from roles.models import Page, Profile, Service

ENTRIES_PAGE = 30


def _error(request: HttpRequest, error) -> None:
    messages.error(request, str(error))


def _form_errors(request: HttpRequest, form) -> None:
    for field, errors in form.errors.items():
        # The field's label, or its name as a label ("Due on"): which field the message is about.
        label = form[field].label if field in form.fields else ""
        for message in errors:
            messages.error(request, f"{label}: {message}" if label else message)


def _say_why(request: HttpRequest, refusal) -> int:
    """The reason for a refusal as a message; its status: 400 bad form, 403 not yours to do, 422 the rules."""
    if isinstance(refusal, DomainError):
        _error(request, refusal)
        return 403 if isinstance(refusal, NotAllowed) else 422
    _form_errors(request, refusal)
    return 400


def _refused(request: HttpRequest, number: int, refusal, *, form: str) -> HttpResponse:
    """The review page again, for a form (named by its section's id) that was refused and wrote nothing.

    refusal is the invalid form or the service's error. The reason is a message at the top of the
    page, where it shows without scrolling; the refused form is open and keeps what was typed.
    """
    status = _say_why(request, refusal)
    return _review_page(request, number, status=status, refused=form)


def _back(review_or_number, anchor: str = "") -> HttpResponse:
    number = review_or_number if isinstance(review_or_number, int) else review_or_number.incident.number
    return redirect(reverse("reviews:review", kwargs={"number": number}) + (f"#{anchor}" if anchor else ""))


# --- The review page -----------------------------------------------------------------------------------


def _names(record: dict) -> list[str]:
    names = set()
    for name in record["participants"] + [r["person"] for r in record["roles"] if r["person"]]:
        names.add(name)
        names.update(part for part in name.split() if len(part) > 2)
    return sorted(names)


def review_context(request: HttpRequest, incident, review: Review) -> dict:
    record = (
        review.published_record
        if review.is_published and review.published_record
        else review_record(incident, review)
    )
    names = _names(record)
    sections = []
    for name, label, text in review.sections():
        sections.append({"name": name, "label": label, "text": text, "hints": blameless.hints(text, names)})
    tree = factor_tree(review)
    factor_hints = [h for node in _walk(tree) for h in blameless.hints(node.text, names)]
    user = request.user
    return {
        "incident": incident,
        "review": review,
        "record": record,
        "clocks": [
            (metrics.CLOCK_LABELS[c], metrics.human(record["durations"].get(c))) for c in metrics.CLOCKS
        ],
        "sections": sections,
        "factors": tree,
        "factor_hints": factor_hints,
        "follow_ups": selectors.incident_follow_ups(incident),
        "amendments": list(review.amendments.select_related("author")),
        "edits": list(review.edits.select_related("edited_by")[:50]),
        "may_write": permissions.may_write(user, review) and not review.is_published,
        "may_steer": permissions.may_steer(user, review),
        "may_amend": permissions.may_amend(user, review) and review.is_published,
        "may_follow_up": permissions.may_change_follow_up(user, incident),
        "attendees": list(review.meeting_attendees.all()),
        "follow_up_form": f.FollowUpForm(initial={"owner": review.owner}),
        "steer_form": f.SteerForm(initial={"owner": review.owner, "due_on": review.due_on}),
        "meeting_form": f.MeetingForm(),
        "people": list(f.people()),
        "default_attendee_ids": {p.pk for p in services.reviews.default_attendees(incident)}
        | {review.owner_id},
        "has_public_incident": record.get("public") is not None,
    }


def _walk(tree: list[dict]):
    for node in tree:
        yield node["factor"]
        yield from _walk(node["whys"])


@login_required
def review_page(request: HttpRequest, number: int) -> HttpResponse:
    return _review_page(request, number)


def _review_page(request: HttpRequest, number: int, *, status: int = 200, refused: str = "") -> HttpResponse:
    incident, review = selectors.review_for(user=request.user, number=number)
    if review is None:
        return render(
            request,
            "reviews/review_missing.html",
            {"incident": incident, "may_start": permissions.may_start_review(request.user, incident)},
            status=status,
        )
    context = review_context(request, incident, review)
    posted = request.POST if refused else {}
    if refused == "write":
        # The sections as typed, not as saved: a refusal must not lose someone's writing.
        for section in context["sections"]:
            if section["name"] in posted:
                section["text"] = posted[section["name"]]
    context.update(refused=refused, posted=posted)
    # Entries to pin (the owner's tool): the whole timeline, a page at a time.
    if context["may_steer"] and not review.is_published:
        pinned = set(r["id"] for r in context["record"]["timeline"])
        qs = (
            incident.timeline.filter(struck_at__isnull=True)
            .select_related("author")
            .order_by("occurred_at", "pk")
        )
        # A refused pin comes back to the page of entries it was sent from.
        entries = posted.get("entries") if refused == "pins" else request.GET.get("entries")
        page = Paginator(qs, ENTRIES_PAGE).get_page(entries)
        context["entries_page"] = page
        context["in_timeline"] = pinned
    return render(request, "reviews/review.html", context, status=status)


@login_required
@require_POST
def review_start(request: HttpRequest, number: int) -> HttpResponse:
    incident = incident_get(user=request.user, number=number)
    try:
        services.review_start(incident=incident, by=request.user)
    except DomainError as error:
        _error(request, error)
    return _back(number)


@login_required
@require_POST
def review_write(request: HttpRequest, number: int) -> HttpResponse:
    _incident, review = selectors.review_get(user=request.user, number=number)
    form = f.SectionsForm(request.POST)
    if not form.is_valid():
        return _refused(request, number, form, form="write")
    sections = {name: form.cleaned_data[name] for name in Review.SECTIONS if name in request.POST}
    try:
        services.review_write(review=review, by=request.user, sections=sections)
    except DomainError as error:
        return _refused(request, number, error, form="write")
    messages.success(request, "Saved. Earlier text is kept in the history.")
    return _back(review, "write")


@login_required
@require_POST
def review_steer(request: HttpRequest, number: int) -> HttpResponse:
    _incident, review = selectors.review_get(user=request.user, number=number)
    form = f.SteerForm(request.POST)
    if not form.is_valid():
        return _refused(request, number, form, form="steer")
    try:
        services.review_steer(review=review, by=request.user, **form.cleaned_data)
    except DomainError as error:
        return _refused(request, number, error, form="steer")
    return _back(review)


@login_required
@require_POST
def factor_add(request: HttpRequest, number: int) -> HttpResponse:
    _incident, review = selectors.review_get(user=request.user, number=number)
    form = f.FactorForm(request.POST)
    if not form.is_valid():
        return _refused(request, number, form, form="factors")
    parent = None
    if form.cleaned_data["parent"]:
        parent = ContributingFactor.objects.filter(review=review, pk=form.cleaned_data["parent"]).first()
        if parent is None:
            raise Http404("No such factor")
    try:
        services.factor_add(review=review, by=request.user, text=form.cleaned_data["text"], parent=parent)
    except DomainError as error:
        return _refused(request, number, error, form="factors")
    return _back(review, "factors")


@login_required
@require_POST
def factor_edit(request: HttpRequest, number: int, factor_id: int) -> HttpResponse:
    _incident, review = selectors.review_get(user=request.user, number=number)
    factor = get_object_or_404(ContributingFactor, review=review, pk=factor_id)
    form = f.FactorForm(request.POST)
    if not form.is_valid():
        return _refused(request, number, form, form="factors")
    try:
        services.factor_edit(factor=factor, by=request.user, text=form.cleaned_data["text"])
    except DomainError as error:
        return _refused(request, number, error, form="factors")
    return _back(review, "factors")


@login_required
@require_POST
def review_pin(request: HttpRequest, number: int) -> HttpResponse:
    incident, review = selectors.review_get(user=request.user, number=number)
    form = f.PinForm(request.POST)
    if not form.is_valid():
        return _refused(request, number, form, form="pins")
    entry = get_object_or_404(TimelineEntry, incident=incident, pk=form.cleaned_data["entry"])
    try:
        services.review_pin(
            review=review, by=request.user, entry=entry, included=form.cleaned_data["included"]
        )
    except DomainError as error:
        return _refused(request, number, error, form="pins")
    page = request.POST.get("entries", "")
    url = reverse("reviews:review", kwargs={"number": number})
    if page.isdigit():
        url += f"?entries={page}"
    return redirect(url + "#pins")


@login_required
@require_POST
def review_meeting(request: HttpRequest, number: int) -> HttpResponse:
    _incident, review = selectors.review_get(user=request.user, number=number)
    form = f.MeetingForm(request.POST)
    if not form.is_valid():
        return _refused(request, number, form, form="meeting")
    data = form.cleaned_data
    try:
        services.review_schedule_meeting(
            review=review,
            by=request.user,
            at=data["at"],
            minutes=data["minutes"],
            location=data["location"],
            attendees=list(data["attendees"]) or None,
        )
    except DomainError as error:
        return _refused(request, number, error, form="meeting")
    messages.success(request, "Meeting scheduled: the invitations are in the outbox.")
    return _back(review, "meeting")


@login_required
@require_POST
def review_state(request: HttpRequest, number: int) -> HttpResponse:
    _incident, review = selectors.review_get(user=request.user, number=number)
    form = f.StateForm(request.POST)
    if not form.is_valid():
        return _refused(request, number, form, form="state")
    try:
        services.review_set_state(review=review, by=request.user, state=form.cleaned_data["state"])
    except DomainError as error:
        return _refused(request, number, error, form="state")
    return _back(review)


@login_required
@require_POST
def review_publish(request: HttpRequest, number: int) -> HttpResponse:
    _incident, review = selectors.review_get(user=request.user, number=number)
    form = f.PublishForm(request.POST)
    if not form.is_valid():
        return _refused(request, number, form, form="publish")
    try:
        services.review_publish(review=review, by=request.user, **form.cleaned_data)
    except DomainError as error:
        return _refused(request, number, error, form="publish")
    messages.success(request, "Published. The review is read-only now; amend it if you learn more.")
    return _back(review)


@login_required
@require_POST
def review_amend(request: HttpRequest, number: int) -> HttpResponse:
    _incident, review = selectors.review_get(user=request.user, number=number)
    form = f.AmendForm(request.POST)
    if not form.is_valid():
        return _refused(request, number, form, form="amendments")
    try:
        services.review_amend(review=review, by=request.user, body=form.cleaned_data["body"])
    except DomainError as error:
        return _refused(request, number, error, form="amendments")
    return _back(review, "amendments")


def _record_of(incident, review: Review) -> dict:
    if review.is_published and review.published_record:
        return review.published_record
    return review_record(incident, review)


@login_required
def review_export(request: HttpRequest, number: int) -> HttpResponse:
    incident, review = selectors.review_get(user=request.user, number=number)
    text = review_markdown(review, _record_of(incident, review), selectors.incident_follow_ups(incident))
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{incident.reference}-review.md"'
    return response


@login_required
def review_print(request: HttpRequest, number: int) -> HttpResponse:
    incident, review = selectors.review_get(user=request.user, number=number)
    context = review_context(request, incident, review)
    return render(request, "reviews/review_print.html", context)


@login_required
def review_list(request: HttpRequest) -> HttpResponse:
    view = request.GET.get("view", "open")
    if view not in selectors.REVIEW_VIEWS:
        view = "open"
    page = Paginator(selectors.review_list(user=request.user, view=view), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request, "reviews/review_list.html", {"page": page, "view": view, "views": selectors.REVIEW_VIEWS}
    )


@login_required
def room_card(request: HttpRequest, number: int) -> HttpResponse:
    """The room's "after the incident" card: the review and the follow-ups' counts (two queries)."""
    incident = incident_get(user=request.user, number=number)
    review = Review.objects.filter(incident=incident).select_related("owner").first()
    counts = incident.follow_ups.aggregate(
        open=Count("pk", filter=Q(state__in=FollowUp.OPEN_STATES)), all=Count("pk")
    )
    return render(
        request, "reviews/_review_card.html", {"incident": incident, "review": review, "counts": counts}
    )


# --- Follow-ups --------------------------------------------------------------------------------------


@login_required
def follow_up_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _bulk(request)
    return _follow_up_page(request)


def _follow_up_page(request: HttpRequest, status: int = 200) -> HttpResponse:
    form = f.FollowUpFilterForm(request.GET or None)
    filters = form.filters()
    qs = selectors.follow_up_list(user=request.user, filters=filters)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "reviews/follow_ups.html",
        {
            "form": form,
            "filters": filters,
            "page": page,
            "views": selectors.FOLLOW_UP_VIEWS,
            "services": list(Service.objects.only("pk", "name")),
            "states": FollowUp.State.choices,
            "today": timezone.localdate(),
        },
        status=status,
    )


def _bulk(request: HttpRequest) -> HttpResponse:
    """All the chosen follow-ups move, or none: a refusal is the page again with the reason."""
    form = f.BulkForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _follow_up_page(request, status=400)
    ids = form.ids()
    if not ids:
        messages.error(request, "Choose at least one follow-up.")
        return _follow_up_page(request, status=400)
    chosen = list(selectors.follow_ups_visible_to(request.user).filter(pk__in=ids))
    if len(chosen) != len(ids):
        # One of them is gone or not this person's to see: moving the others would be half a change.
        raise Http404("No such follow-up")
    try:
        services.follow_ups_set_state(
            follow_ups=chosen,
            by=request.user,
            state=form.cleaned_data["state"],
            reason=form.cleaned_data["reason"],
        )
    except DomainError as error:
        _error(request, error)
        return _follow_up_page(request, status=422)
    label = FollowUp.State(form.cleaned_data["state"]).label.lower()
    messages.success(request, f"{len(chosen)} follow-up{'s' if len(chosen) != 1 else ''} now {label}.")
    back = reverse("reviews:follow_ups") + ("?" + request.GET.urlencode() if request.GET else "")
    return redirect(back)


@login_required
@require_POST
def follow_up_add(request: HttpRequest, number: int) -> HttpResponse:
    incident = incident_get(user=request.user, number=number)
    form = f.FollowUpForm(request.POST)
    back = request.POST.get("next", "")
    target = back if back in ("room",) else "review"
    refusal = None
    if not form.is_valid():
        refusal = form
    else:
        try:
            services.follow_up_create(incident=incident, by=request.user, **form.cleaned_data)
        except DomainError as error:
            refusal = error
    if target == "room":
        # The room's own add tool: back to the room either way, the reason or the news as a message.
        if refusal is None:
            messages.success(request, "Follow-up added.")
        else:
            _say_why(request, refusal)
        return redirect(incident)
    if refusal is not None:
        return _refused(request, number, refusal, form="follow-ups")
    messages.success(request, "Follow-up added.")
    return _back(number, "follow-ups")


@login_required
def follow_up_detail(request: HttpRequest, pk: int) -> HttpResponse:
    follow_up = selectors.follow_up_get(user=request.user, pk=pk)
    if request.method == "POST":
        form = f.FollowUpEditForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            state, reason = data.pop("state"), data.pop("wont_do_reason")
            try:
                services.follow_up_update(
                    follow_up=follow_up, by=request.user, state=state, wont_do_reason=reason, **data
                )
            except DomainError as error:
                _error(request, error)
            else:
                messages.success(request, "Follow-up saved.")
                return redirect(follow_up)
        else:
            _form_errors(request, form)
        return redirect(follow_up)
    form = f.FollowUpEditForm(
        initial={
            "title": follow_up.title,
            "description": follow_up.description,
            "owner": follow_up.owner,
            "due_on": follow_up.due_on,
            "priority": follow_up.priority,
            "tracker_url": follow_up.tracker_url,
            "state": follow_up.state,
            "wont_do_reason": follow_up.wont_do_reason,
        }
    )
    return render(
        request,
        "reviews/follow_up.html",
        {
            "follow_up": follow_up,
            "form": form,
            "may_change": permissions.may_change_follow_up(request.user, follow_up.incident),
            "people": list(f.people()),
        },
    )


# --- Insights ----------------------------------------------------------------------------------------


def _days(request: HttpRequest) -> int:
    value = request.GET.get("days", "")
    return int(value) if value in {str(w) for w in ins.WINDOWS} else ins.DEFAULT_WINDOW


SEVERITY_SERIES_CSS = {1: "sev-1", 2: "sev-2", 3: "sev-3", 4: "sev-4", 5: "sev-5"}


@login_required
def insights_page(request: HttpRequest) -> HttpResponse:
    days = _days(request)
    data = ins.insights(user=request.user, days=days)
    week_labels = [w["start"].strftime("%b %-d") for w in data.weeks]
    weekly_chart = charts.stacked_columns(
        title=f"Incidents per week by severity, last {days} days",
        labels=week_labels,
        series=[
            charts.Series(f"SEV-{s}", SEVERITY_SERIES_CSS[s], [w["counts"][s] for w in data.weeks])
            for s in (1, 2, 3, 4, 5)
        ],
    )
    clock_charts = []
    for clock in metrics.CLOCKS:
        rows = [r for r in data.by_severity if r["clocks"][clock].count]
        clock_charts.append(
            {
                "clock": clock,
                "label": metrics.CLOCK_LABELS[clock],
                "short": metrics.CLOCK_SHORT[clock],
                "chart": charts.horizontal_bars(
                    title=f"{metrics.CLOCK_LABELS[clock]} by severity: median and p90",
                    labels=[r["label"] for r in rows],
                    series=[
                        charts.Series("median", "median", [r["clocks"][clock].median for r in rows]),
                        charts.Series("p90", "p90", [r["clocks"][clock].p90 for r in rows]),
                    ],
                    value_text=metrics.human,
                ),
            }
        )
    service_rows = data.by_service[:20]
    service_chart = charts.horizontal_bars(
        title="Time to resolve by service: median and p90",
        labels=[r["service"] for r in service_rows if r["clocks"]["to_resolve"].count],
        series=[
            charts.Series(
                "median",
                "median",
                [r["clocks"]["to_resolve"].median for r in service_rows if r["clocks"]["to_resolve"].count],
            ),
            charts.Series(
                "p90",
                "p90",
                [r["clocks"]["to_resolve"].p90 for r in service_rows if r["clocks"]["to_resolve"].count],
            ),
        ],
        value_text=metrics.human,
    )
    people = data.pages_by_person[:25]
    pages_chart = charts.horizontal_bars(
        title="Pages per person: in working hours and outside",
        labels=[p["person"] for p in people],
        series=[
            charts.Series("in working hours", "in-hours", [p["pages"] - p["outside_hours"] for p in people]),
            charts.Series("outside working hours", "outside", [p["outside_hours"] for p in people]),
        ],
        stacked=True,
        value_text=lambda v: f"{int(v)}",
    )
    fu = data.follow_ups
    follow_up_chart = charts.horizontal_bars(
        title="Follow-ups created in the window, by state",
        labels=["Done on time", "Done late", "Won't do", "Open or in progress", "of which overdue"],
        series=[
            charts.Series(
                "follow-ups",
                "count",
                [
                    fu["done_on_time"],
                    fu["done_late"],
                    fu["wont_do"],
                    fu["open"] + fu["in_progress"],
                    fu["overdue"],
                ],
            )
        ],
        value_text=lambda v: f"{int(v)}",
    )
    rv = data.reviews
    review_chart = charts.horizontal_bars(
        title="Reviews: published on time, late, overdue",
        labels=["Published on time", "Published late", "Overdue", "Not yet due"],
        series=[
            charts.Series(
                "reviews",
                "count",
                [rv["published_on_time"], rv["published_late"], rv["overdue"], rv["not_yet_due"]],
            )
        ],
        value_text=lambda v: f"{int(v)}",
    )
    return render(
        request,
        "reviews/insights.html",
        {
            "data": data,
            "days": days,
            "windows": ins.WINDOWS,
            "weekly_chart": weekly_chart,
            "clock_charts": clock_charts,
            "clocks": [(c, metrics.CLOCK_SHORT[c]) for c in metrics.CLOCKS],
            "service_chart": service_chart,
            "service_rows": service_rows,
            "pages_chart": pages_chart,
            "people": people,
            "follow_up_chart": follow_up_chart,
            "review_chart": review_chart,
            "human": metrics.human,
        },
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_response(filename: str, header: list[str], rows) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def stream():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _iso(value) -> str:
    return value.isoformat() if value else ""


def _secs(value) -> str:
    return f"{value:.0f}" if value is not None else ""


@login_required
def insights_csv(request: HttpRequest, kind: str) -> StreamingHttpResponse:
    """The rows behind a chart: incidents (weekly and clock charts), pages, follow-ups, reviews."""
    days = _days(request)
    since = ins.window_start(days, timezone.now())
    user = request.user
    name = f"coolhead-{kind}-{days}d.csv"
    if kind == "incidents":
        qs = ins.window_incidents(user, since).prefetch_related("services").order_by("declared_at", "pk")

        def rows():
            for i in qs.iterator(chunk_size=1000):
                clocks = metrics.incident_clocks(i)
                yield [
                    i.reference,
                    i.title,
                    i.severity_label,
                    i.status,
                    "; ".join(s.name for s in i.services.all()),
                    _iso(i.detected_at),
                    _iso(i.declared_at),
                    _iso(i.acknowledged_at),
                    _iso(i.mitigated_at),
                    _iso(i.resolved_at),
                    _secs(clocks["to_acknowledge"]),
                    _secs(clocks["to_mitigate"]),
                    _secs(clocks["to_resolve"]),
                ]

        header = [
            "incident",
            "title",
            "severity",
            "status",
            "services",
            "detected_at",
            "declared_at",
            "acknowledged_at",
            "mitigated_at",
            "resolved_at",
            "seconds_to_acknowledge",
            "seconds_to_mitigate",
            "seconds_to_resolve",
        ]
        return _csv_response(name, header, rows())
    if kind == "pages":
        notified = (
            ins.scoped(
                Page.notified.through.objects.filter(page__created_at__gte=since),
                user,
                "page__incident",
            )
            .select_related("page__incident", "user", "user__profile")
            .order_by("page__created_at", "pk")
        )

        def rows():
            for n in notified.iterator(chunk_size=1000):
                try:
                    profile = n.user.profile
                except Profile.DoesNotExist:
                    profile = Profile(user=n.user)
                yield [
                    n.page.incident.reference,
                    _iso(n.page.created_at),
                    n.user.get_full_name() or n.user.get_username(),
                    "no" if ins.in_working_hours(profile, n.page.created_at) else "yes",
                    n.page.status,
                ]

        return _csv_response(
            name, ["incident", "paged_at", "person", "outside_working_hours", "page_status"], rows()
        )
    if kind == "follow-ups":
        qs = ins.scoped(FollowUp.objects.filter(created_at__gte=since), user).select_related(
            "incident", "owner"
        )

        def rows():
            today = timezone.localdate()
            for fu in qs.order_by("created_at", "pk").iterator(chunk_size=1000):
                yield [
                    fu.incident.reference,
                    fu.title,
                    (fu.owner.get_username() if fu.owner else ""),
                    fu.state,
                    fu.priority,
                    _iso(fu.due_on),
                    _iso(fu.created_at),
                    _iso(fu.closed_at),
                    "yes" if fu.is_open and fu.due_on and fu.due_on < today else "no",
                ]

        header = [
            "incident",
            "title",
            "owner",
            "state",
            "priority",
            "due_on",
            "created_at",
            "closed_at",
            "overdue",
        ]
        return _csv_response(name, header, rows())
    if kind == "reviews":
        qs = ins.scoped(Review.objects.filter(created_at__gte=since), user).select_related(
            "incident", "owner"
        )

        def rows():
            for r in qs.order_by("created_at", "pk").iterator(chunk_size=1000):
                on_time = ""
                if r.published_at:
                    on_time = "yes" if timezone.localtime(r.published_at).date() <= r.due_on else "no"
                yield [
                    r.incident.reference,
                    r.owner.get_username() if r.owner else "",
                    r.state,
                    _iso(r.due_on),
                    _iso(r.published_at),
                    on_time,
                ]

        return _csv_response(
            name, ["incident", "owner", "state", "due_on", "published_at", "published_on_time"], rows()
        )
    raise Http404("No such table")

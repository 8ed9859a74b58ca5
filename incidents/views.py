from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.functional import SimpleLazyObject
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh

from incidents import forms, hooks, permissions, presence, selectors, services
from incidents.models import Decision, Incident, TimelineEntry
from incidents.services import IncidentError
from incidents.services.lifecycle import ChangesInPlace
from incidents.services.tools import change_values_visible_to

# A room that fell further behind than this reloads instead of patching itself.
MAX_DELTA_ENTRIES = 100
# The largest primary key the database can hold (a bigint).
MAX_ID = 2**63 - 1


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    incidents = selectors.open_incidents_for_dashboard(request.user)
    return render(request, "incidents/dashboard.html", {"incidents": incidents})


@login_required
def incident_list(request: HttpRequest) -> HttpResponse:
    form = forms.IncidentFilterForm(request.GET or None)
    qs = selectors.incident_list(user=request.user, filters=form.filters())
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    template = "incidents/incident_list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, {"form": form, "page": page})


@login_required
def incident_declare(request: HttpRequest) -> HttpResponse:
    form = forms.DeclareForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            incident = services.incident_declare(declared_by=request.user, **form.cleaned_data)
        except IncidentError as error:
            form.add_error(None, str(error))
        else:
            return redirect(incident)
    status = 400 if request.method == "POST" else 200
    return render(request, "incidents/declare.html", {"form": form}, status=status)


def room_context(request: HttpRequest, incident: Incident, *, whole_page: bool = True, **extra) -> dict:
    """What the room's templates need; the first timeline page only for the whole page."""
    holders = hooks.role_holders([incident.pk]).get(incident.pk, [])
    context = {
        "incident": incident,
        "role_holders": holders,
        # The IC decides status, severity and the repair while one is assigned; others propose.
        "may_decide": permissions.may_decide(request.user, incident, holders),
        "next_statuses": [s for s in Incident.Status if s in services.TRANSITIONS[incident.status]],
        # What the status control offers first: the next step forward, never a step back.
        "forward_status": services.forward_status(incident.status),
        "poll_ms": settings.INCIDENT_ROOM_POLL_MS,
        "entry_form": forms.EntryForm(),
        "entry_kinds": forms.ENTRY_FORM_KINDS,
        # What a note may be tagged to; read only when the composer is drawn.
        "entry_workstreams": SimpleLazyObject(lambda: hooks.open_workstreams(incident)),
        "status_form": forms.StatusForm(),
        "severity_form": forms.SeverityForm(initial={"severity": incident.severity}),
        "reopen_form": forms.ReopenForm(),
    }
    if whole_page:
        # A workstream's own slice of the timeline: the entries tagged to it.
        context["entries"], context["older"] = selectors.timeline_page(
            incident=incident,
            before=None,
            size=settings.TIMELINE_PAGE_SIZE,
            workstream=extra.get("workstream"),
        )
    if whole_page or extra.get("tools_changed"):
        context.update(tools_context(request, incident))
    context.update(extra)
    return context


def partial_template(partial: str) -> str:
    """Where a part of the room is defined: the response tools have their own file."""
    if partial == "tools":
        return "incidents/_tools.html#tools"
    return f"incidents/incident_room.html#{partial}"


CLOSED = frozenset(Incident.CLOSED_STATUSES)

# The entries that change what the response-tool panels show.
TOOL_KINDS = (
    TimelineEntry.Kind.HYPOTHESIS,
    TimelineEntry.Kind.DECISION,
    TimelineEntry.Kind.CHANGE,
    TimelineEntry.Kind.VERIFICATION,
    TimelineEntry.Kind.STATUS,
)


# The entries that change what the header shows (status, severity, milestones,
# the rollback question, where to join, what was declared, the freeze).
HEADER_KINDS = (TimelineEntry.Kind.STATUS, TimelineEntry.Kind.SEVERITY, TimelineEntry.Kind.PAGE)
HEADER_DATA = frozenset({"freeze", "rollback_answer", "contacts", "details"})


def tools_context(request: HttpRequest, incident: Incident) -> dict:
    """The response-tool panels: their lists, with sensitive values shown only to whom they may be."""
    tools = selectors.response_tools(incident)
    for change in tools.changes_in_place:
        change.values_visible = change_values_visible_to(change, request.user)
    return {"tools": tools, "decision_kinds": Decision.Kind.choices}


@login_required
def incident_room(request: HttpRequest, number: int) -> HttpResponse:
    incident = selectors.incident_get(user=request.user, number=number)
    workstream = request.GET.get("workstream", "")
    if workstream and not (workstream.isascii() and workstream.isdigit() and len(workstream) < 18):
        return HttpResponse("workstream must be a number", status=400)
    if request.htmx and "before" in request.GET:
        cursor = selectors.TimelineCursor.decode(request.GET["before"])
        if cursor is None:
            return HttpResponse("That page of the timeline does not exist.", status=400)
        # Older entries of a workstream's slice stay in the slice.
        entries, older = selectors.timeline_page(
            incident=incident,
            before=cursor,
            size=settings.TIMELINE_PAGE_SIZE,
            workstream=int(workstream) if workstream else None,
        )
        return render(
            request,
            "incidents/incident_room.html#timeline-page",
            {"incident": incident, "entries": entries, "older": older, "workstream": workstream},
        )
    presence.mark_present(incident.pk, request.user.pk)
    context = room_context(request, incident, workstream=int(workstream) if workstream else None)
    return render(request, "incidents/incident_room.html", context)


@never_cache
@login_required
@require_GET
def incident_poll(request: HttpRequest, number: int) -> HttpResponse:
    """What changed in the room since the revision the browser shows.

    Nothing new is a 204 with no body, answered from the cache; see
    selectors.room_revision.
    """
    try:
        seen = int(request.GET.get("rev", ""))
    except ValueError:
        return HttpResponse("rev must be a number", status=400)
    incident_id = request.GET.get("id", "")
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
    if not (incident_id.isascii() and incident_id.isdigit()):
        return HttpResponse("id must be a number", status=400)
    if int(incident_id) > MAX_ID:
        return HttpResponse(status=404)
    revision = selectors.room_revision(user=request.user, incident_id=int(incident_id))
    if revision is None:
        return HttpResponse(status=404)
    presence.mark_present(int(incident_id), request.user.pk)
    if revision <= seen:
        return HttpResponse(status=204)
    incident = selectors.incident_get(user=request.user, number=number)
    return room_delta(request, incident, seen)


def room_delta(
    request: HttpRequest,
    incident: Incident,
    seen: int,
    *,
    main: str = "",
    main_partial: str = "",
    main_entry_id: int | None = None,
) -> HttpResponse:
    """The parts of the room that changed since `seen`, as out-of-band swaps.

    A part that is also the main answer of a POST is left out: htmx would swap
    it twice, the second time into an element already replaced.
    """
    new, edited = selectors.timeline_changes_since(incident=incident, revision=seen)
    if len(new) + len(edited) > MAX_DELTA_ENTRIES:
        return HttpResponseClientRefresh()
    edited = [entry for entry in edited if entry.pk != main_entry_id]
    # Controls are re-rendered only when the state they offer changed, so that a
    # note arriving from someone else does not wipe a half-typed status note.
    controls_changed = main_partial != "controls" and any(
        entry.kind in (TimelineEntry.Kind.STATUS, TimelineEntry.Kind.SEVERITY) or "freeze" in entry.data
        for entry in new
    )
    # Likewise the roles panel, which holds the paging and assignment forms (a resolve
    # or a reopen changes what it offers too).
    roles_changed = any(
        entry.kind in (TimelineEntry.Kind.ROLE, TimelineEntry.Kind.PAGE)
        or (
            entry.kind == TimelineEntry.Kind.STATUS
            and (entry.data.get("to") in CLOSED or entry.data.get("reopened"))
        )
        for entry in new
    )
    # And the command panel: proposals, tasks, workstreams, who commands, who takes part.
    command_changed = roles_changed or any(
        entry.kind in (TimelineEntry.Kind.PROPOSAL, TimelineEntry.Kind.TASK) or "participant" in entry.data
        for entry in new
    )
    # And the customers panel (customers_tags: every watcher loads it again, so only on its news):
    # what the liaison did with customers, the ETA, the affected services and components, and a
    # resolve or reopen (follow-ups, calls).
    customers_changed = main_partial != "customers" and any(
        entry.kind in (TimelineEntry.Kind.CUSTOMER, TimelineEntry.Kind.ETA)
        or "details" in entry.data
        or (
            entry.kind == TimelineEntry.Kind.STATUS
            and (entry.data.get("to") in CLOSED or entry.data.get("reopened"))
        )
        for entry in new
    )
    # And the status-page card: what customers see, and who may post (the roles).
    status_card_changed = any(
        entry.kind in (TimelineEntry.Kind.PUBLIC_UPDATE, TimelineEntry.Kind.ROLE) for entry in new
    )
    # And the response tools, whose add forms may be half typed too.
    tools_changed = main_partial != "tools" and any(entry.kind in TOOL_KINDS for entry in new)
    # And the forms under the header (the rollback question, what was declared, where to join).
    header_changed = main_partial != "header-forms" and any(
        entry.kind in HEADER_KINDS or not HEADER_DATA.isdisjoint(entry.data) for entry in new
    )
    context = room_context(
        request,
        incident,
        whole_page=False,
        new_entries=new,
        edited_entries=edited,
        controls_changed=controls_changed,
        roles_changed=roles_changed,
        tools_changed=tools_changed,
        header_changed=header_changed,
        command_changed=command_changed,
        status_card_changed=status_card_changed,
        customers_changed=customers_changed,
        oob=True,
    )
    delta = render(request, "incidents/incident_room.html#delta", context).content.decode()
    response = HttpResponse(main + delta)
    # The stream (incidents/live.py) sends one render to every watcher in the same time zone
    # when nothing in it depends on who looks (their CSRF token is put in for each): a part
    # drawn per viewer (what they may do) must be named here, and so must entries they wrote.
    response.drawn_per_viewer = (
        controls_changed
        or roles_changed
        or tools_changed
        or command_changed
        or status_card_changed
        or header_changed  # the rollback question's answer form is the deciders'
    )
    response.authors = {entry.author_id for entry in (*new, *edited)}
    return response


def _seen_revision(request: HttpRequest) -> int | None:
    try:
        return int(request.POST.get("rev", ""))
    except ValueError:
        return None


def room_answer(request: HttpRequest, incident: Incident, partial: str, **context) -> HttpResponse:
    """After a change: the control that was used, reset, plus everything that changed."""
    incident.refresh_from_db()
    seen = _seen_revision(request)
    if not request.htmx or seen is None:
        return redirect(incident)
    if partial == "tools":
        context["tools_changed"] = True  # the panel that was used is drawn afresh
    main = render(
        request,
        partial_template(partial),
        room_context(request, incident, whole_page=False, **context),
    ).content.decode()
    entry = context.get("entry")
    return room_delta(
        request, incident, seen, main=main, main_partial=partial, main_entry_id=entry and entry.pk
    )


def form_errors(form: Form) -> list[str]:
    """Every message of a refused control form, shown above the controls.

    The controls on screen may no longer be the ones that were used (another
    browser resolved the incident meanwhile), so field-bound errors would have
    nowhere to show.
    """
    labels = {name: field.label or name.replace("_", " ").capitalize() for name, field in form.fields.items()}
    return [
        error if field == "__all__" else f"{labels.get(field, field)}: {error}"
        for field, errors in form.errors.items()
        for error in errors
    ]


def room_refusal(request: HttpRequest, incident: Incident, partial: str, **context) -> HttpResponse:
    """A change that was refused: the control again, with the reason, and nothing written."""
    template = partial_template(partial) if request.htmx else "incidents/incident_room.html"
    context = room_context(request, incident, whole_page=not request.htmx, **context)
    return render(request, template, context, status=422)


def _control(request: HttpRequest, number: int, form_class: type[Form], change) -> HttpResponse:
    """A status-and-severity control: validate, call the service, answer the room.

    `change(incident, data)` calls the one service the control stands for.
    """
    incident = selectors.incident_get(user=request.user, number=number)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            change(incident, form.cleaned_data)
        except IncidentError as error:
            form.add_error(None, str(error))
        else:
            return room_answer(request, incident, "controls")
    return room_refusal(request, incident, "controls", control_errors=form_errors(form))


@login_required
@require_POST
def incident_change_status(request: HttpRequest, number: int) -> HttpResponse:
    """A status change; resolving a major incident with changes in place asks keep or restore for each."""
    incident = selectors.incident_get(user=request.user, number=number)
    form = forms.StatusForm(request.POST)
    pending = []
    if form.is_valid():
        try:
            services.incident_change_status(
                incident=incident,
                by=request.user,
                settle_changes=forms.settle_choices(request.POST),
                **form.cleaned_data,
            )
        except ChangesInPlace as asked:
            pending = asked.changes
            for change in pending:
                change.values_visible = change_values_visible_to(change, request.user)
            form.add_error(None, "These changes are still in place: keep or restore each one, then resolve.")
        except IncidentError as error:
            form.add_error(None, str(error))
        else:
            return room_answer(request, incident, "controls")
    return room_refusal(
        request,
        incident,
        "controls",
        control_errors=form_errors(form),
        settle_changes=pending,
        status_form=form,
    )


@login_required
@require_POST
def incident_change_severity(request: HttpRequest, number: int) -> HttpResponse:
    return _control(
        request,
        number,
        forms.SeverityForm,
        lambda incident, data: services.incident_change_severity(incident=incident, by=request.user, **data),
    )


@login_required
@require_POST
def incident_reopen(request: HttpRequest, number: int) -> HttpResponse:
    return _control(
        request,
        number,
        forms.ReopenForm,
        lambda incident, data: services.incident_reopen(incident=incident, by=request.user, **data),
    )


@login_required
@require_POST
def incident_deploy_freeze(request: HttpRequest, number: int) -> HttpResponse:
    return _control(
        request,
        number,
        forms.DeployFreezeForm,
        lambda incident, data: services.incident_set_deploy_freeze(
            incident=incident, by=request.user, **data
        ),
    )


@login_required
@require_POST
def entry_add(request: HttpRequest, number: int) -> HttpResponse:
    incident = selectors.incident_get(user=request.user, number=number)
    form = forms.EntryForm(request.POST)
    if form.is_valid():
        try:
            services.timeline_add(incident=incident, author=request.user, **form.cleaned_data)
        except IncidentError as error:
            form.add_error(None, str(error))
        else:
            return room_answer(request, incident, "entry-form")
    return room_refusal(request, incident, "entry-form", entry_form=form)


def _entry(incident: Incident, entry_id: int) -> TimelineEntry:
    return get_object_or_404(
        TimelineEntry.objects.select_related("author", "struck_by"), pk=entry_id, incident=incident
    )


@login_required
@require_POST
def entry_edit(request: HttpRequest, number: int, entry_id: int) -> HttpResponse:
    incident = selectors.incident_get(user=request.user, number=number)
    entry = _entry(incident, entry_id)
    form = forms.EntryEditForm(request.POST)
    error = None
    if form.is_valid():
        try:
            services.timeline_edit(entry=entry, body=form.cleaned_data["body"], by=request.user)
        except IncidentError as exc:
            error = str(exc)
    else:
        error = "; ".join(form.errors.get("body", ["The text is not valid."]))
    return _entry_answer(request, incident, entry, error)


@login_required
@require_POST
def entry_strike(request: HttpRequest, number: int, entry_id: int) -> HttpResponse:
    incident = selectors.incident_get(user=request.user, number=number)
    entry = _entry(incident, entry_id)
    form = forms.StrikeForm(request.POST)
    error = None
    if form.is_valid():
        try:
            services.timeline_strike(entry=entry, reason=form.cleaned_data["reason"], by=request.user)
        except IncidentError as exc:
            error = str(exc)
    else:
        error = "Say why the entry is struck through."
    return _entry_answer(request, incident, entry, error)


def _entry_answer(
    request: HttpRequest, incident: Incident, entry: TimelineEntry, error: str | None
) -> HttpResponse:
    if error is None:
        return room_answer(request, incident, "entry", entry=_entry(incident, entry.pk))
    entry.refresh_from_db()
    if not request.htmx:
        return render(
            request,
            "incidents/incident_room.html",
            room_context(request, incident, entry_error=(entry.pk, error)),
            status=422,
        )
    return render(
        request,
        "incidents/incident_room.html#entry",
        {"incident": incident, "entry": entry, "entry_error": (entry.pk, error)},
        status=422,
    )

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from incidents.models import Incident
from incidents.selectors import incident_get
from roles import forms, permissions, selectors, services
from roles.models import Page, RoleAssignment
from roles.services import NotAllowed, RoleError

User = get_user_model()


def _roles_answer(
    request: HttpRequest, incident: Incident, *, error: str = "", status: int = 200
) -> HttpResponse:
    """The room's roles panel again (htmx), or back to the room with a message."""
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect(incident)
    incident.refresh_from_db()
    context = {
        "incident": incident,
        "role_holders": selectors.current_role_holders([incident.pk]).get(incident.pk, []),
        "roles_error": error,
    }
    return render(request, "incidents/incident_room.html#roles", context, status=status)


def _refused(request: HttpRequest, incident: Incident, error: Exception | str) -> HttpResponse:
    status = 403 if isinstance(error, NotAllowed) else 422
    return _roles_answer(request, incident, error=str(error), status=status)


def _form_error(form) -> str:
    return "; ".join(str(e) for errors in form.errors.values() for e in errors)


def _assignment(incident: Incident, assignment_id: int) -> RoleAssignment:
    return get_object_or_404(
        RoleAssignment.objects.select_related("user"), pk=assignment_id, incident=incident
    )


@login_required
@require_POST
def role_assign(request: HttpRequest, number: int) -> HttpResponse:
    incident = incident_get(user=request.user, number=number)
    form = forms.AssignForm(request.POST)
    if not form.is_valid():
        return _refused(request, incident, _form_error(form))
    try:
        services.role_assign(
            incident=incident, role=form.cleaned_data["role"], user=form.cleaned_data["user"], by=request.user
        )
    except services.IncidentError as error:
        return _refused(request, incident, error)
    return _roles_answer(request, incident)


@login_required
@require_POST
def role_release(request: HttpRequest, number: int, assignment_id: int) -> HttpResponse:
    incident = incident_get(user=request.user, number=number)
    assignment = _assignment(incident, assignment_id)
    try:
        services.role_release(assignment=assignment, by=request.user)
    except services.IncidentError as error:
        return _refused(request, incident, error)
    return _roles_answer(request, incident)


@login_required
@require_POST
def checklist_tick(request: HttpRequest, number: int, assignment_id: int) -> HttpResponse:
    incident = incident_get(user=request.user, number=number)
    assignment = _assignment(incident, assignment_id)
    form = forms.ChecklistForm(request.POST)
    if not form.is_valid():
        return _refused(request, incident, "That is not an item of this role's checklist.")
    try:
        services.checklist_tick(
            assignment=assignment,
            item=form.cleaned_data["item"],
            done=form.cleaned_data["done"],
            by=request.user,
        )
    except services.IncidentError as error:
        return _refused(request, incident, error)
    return _roles_answer(request, incident)


@login_required
@require_POST
def page_send(request: HttpRequest, number: int) -> HttpResponse:
    incident = incident_get(user=request.user, number=number)
    form = forms.PageForm(request.POST)
    if not form.is_valid():
        return _refused(request, incident, _form_error(form))
    kind, target = form.cleaned_data["target"]
    try:
        services.page_send(
            incident=incident, by=request.user, message=form.cleaned_data["message"], **{kind: target}
        )
    except services.IncidentError as error:
        return _refused(request, incident, error)
    return _roles_answer(request, incident)


@login_required
@require_POST
def page_ic(request: HttpRequest, number: int) -> HttpResponse:
    incident = incident_get(user=request.user, number=number)
    form = forms.PageIcForm(request.POST)
    form.is_valid()
    try:
        services.page_incident_commander(
            incident=incident, by=request.user, message=form.cleaned_data.get("message", "")
        )
    except services.IncidentError as error:
        return _refused(request, incident, error)
    return _roles_answer(request, incident)


@login_required
def page_ack(request: HttpRequest, token: str) -> HttpResponse:
    """The one-click acknowledge link of a page.

    Opening the link shows the page with one button; the POST acknowledges.
    A GET never changes anything, because mail scanners open links too.
    """
    template = "roles/page_ack.html"
    try:
        page_id, user_id = services.page_ack_read(token)
    except RoleError as error:
        return render(request, template, {"error": str(error)}, status=400)
    page = Page.objects.select_related("incident", "acknowledged_by", "created_by").filter(pk=page_id).first()
    if page is None:
        raise Http404("No such page")
    # The incident through the visibility rule: a restricted one stays a 404 to outsiders.
    incident = incident_get(user=request.user, number=page.incident.number)
    if user_id != request.user.pk:
        addressee = User.objects.filter(pk=user_id).first()
        who = (addressee.get_full_name() or addressee.get_username()) if addressee else "someone else"
        return render(
            request,
            template,
            {"page": page, "incident": incident, "error": f"This link was sent to {who}. Sign in as them."},
            status=403,
        )
    if request.method == "POST":
        try:
            page = services.page_acknowledge(page=page, user=request.user)
        except services.IncidentError as error:
            status = 403 if isinstance(error, NotAllowed) else 409
            return render(
                request, template, {"page": page, "incident": incident, "error": str(error)}, status=status
            )
        messages.success(request, "Page acknowledged. Thank you: the incident room is below.")
        return redirect(incident)
    return render(request, template, {"page": page, "incident": incident, "token": token})


@login_required
def handover(request: HttpRequest, number: int, assignment_id: int) -> HttpResponse:
    incident = incident_get(user=request.user, number=number)
    assignment = _assignment(incident, assignment_id)
    form = forms.HandoverForm(
        request.POST or None,
        holder=assignment.user,
        initial={"hypotheses": selectors.open_hypotheses_text(incident)},
    )
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                services.handover_submit(assignment=assignment, by=request.user, **form.cleaned_data)
            except services.IncidentError as error:
                form.add_error(None, str(error))
                status = 403 if isinstance(error, NotAllowed) else 422
            else:
                messages.success(request, "Handed over. The note is on the timeline and on its way to them.")
                return redirect(incident)
    context = {"incident": incident, "assignment": assignment, "form": form}
    return render(request, "roles/handover.html", context, status=status)


@login_required
def executive_summary(request: HttpRequest, number: int) -> HttpResponse:
    incident = incident_get(user=request.user, number=number)
    allowed = permissions.may_send_executive_summary(request.user, permissions.holders_of(incident))
    body, next_step = selectors.executive_summary_draft(incident)
    form = forms.ExecutiveSummaryForm(request.POST or None, initial={"body": body, "next_step": next_step})
    status = 200 if allowed else 403
    if request.method == "POST" and allowed:
        status = 422
        if form.is_valid():
            try:
                services.executive_summary_send(incident=incident, by=request.user, **form.cleaned_data)
            except services.IncidentError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, "Executive summary sent.")
                return redirect(incident)
    context = {
        "incident": incident,
        "form": form,
        "allowed": allowed,
        "teams": services.stakeholder_teams(incident.severity),
        "previous": incident.executive_summaries.select_related("sent_by")[:5],
    }
    return render(request, "roles/executive_summary.html", context, status=status)

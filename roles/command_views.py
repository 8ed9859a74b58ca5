"""Command and control in the room: proposals to the IC, tasks, workstreams, who takes part.

Each view looks the incident up through the visibility selector, validates with
a form, calls one service (roles/services/proposals.py, tasks.py) and answers
with the room's command panel (htmx) or back to the room.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from incidents import presence
from incidents.models import Incident
from incidents.selectors import incident_get
from incidents.services import IncidentError
from roles import forms, services
from roles.models import Proposal, Task, Workstream
from roles.services import NotAllowed
from roles.templatetags.roles_tags import command_context


def _answer(request: HttpRequest, incident: Incident, *, error: str = "", status: int = 200) -> HttpResponse:
    """The command panel again (htmx), or back to the room with the message."""
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect(incident)
    incident.refresh_from_db()
    context = command_context(request, incident)
    context["command_error"] = error
    return render(request, "roles/_command.html", context, status=status)


def _run(request: HttpRequest, incident: Incident, form, action) -> HttpResponse:
    if not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        return _answer(request, incident, error=errors, status=422)
    try:
        action(form.cleaned_data)
    except IncidentError as error:
        return _answer(
            request, incident, error=str(error), status=403 if isinstance(error, NotAllowed) else 422
        )
    return _answer(request, incident)


def _workstream(incident: Incident, pk: int | None) -> Workstream | None:
    return incident.workstreams.filter(pk=pk, closed_at__isnull=True).first() if pk else None


@login_required
@require_POST
def proposal_make(request: HttpRequest, number: int) -> HttpResponse:
    incident = incident_get(user=request.user, number=number)
    form = forms.ProposalForm(request.POST)

    def propose(data: dict) -> Proposal:
        workstream = _workstream(incident, data["workstream"])
        if data["workstream"] and workstream is None:
            raise services.RoleError("No such open workstream here.")
        return services.proposal_make(
            incident=incident,
            by=request.user,
            action=data["action"],
            payload=form.payload(),
            reason=data["reason"],
            workstream=workstream,
        )

    return _run(request, incident, form, propose)


@login_required
@require_POST
def proposal_answer(request: HttpRequest, number: str, proposal_id: str, verdict: str) -> HttpResponse:
    if len(number) > 9 or len(proposal_id) > 18:
        raise Http404("No such proposal")
    incident = incident_get(user=request.user, number=int(number))
    proposal = get_object_or_404(Proposal, pk=proposal_id, incident=incident)
    form = forms.ProposalAnswerForm(request.POST)
    answer = {
        "approve": lambda data: services.proposal_approve(
            proposal=proposal, by=request.user, note=data["answer"]
        ),
        "reject": lambda data: services.proposal_reject(
            proposal=proposal, by=request.user, reason=data["answer"]
        ),
        "withdraw": lambda data: services.proposal_withdraw(proposal=proposal, by=request.user),
    }[verdict]
    return _run(request, incident, form, answer)


@login_required
@require_POST
def task_assign(request: HttpRequest, number: int) -> HttpResponse:
    incident = incident_get(user=request.user, number=number)
    form = forms.TaskForm(request.POST)

    def assign(data: dict) -> Task:
        return services.task_assign(
            incident=incident,
            by=request.user,
            title=data["title"],
            assignee=data["assignee"],
            due_at=data["due_at"],
            workstream=_workstream(incident, data["workstream"]),
            in_room=presence.is_present(incident.pk, data["assignee"].pk),
        )

    return _run(request, incident, form, assign)


@login_required
@require_POST
def task_move(request: HttpRequest, number: int, task_id: int) -> HttpResponse:
    incident = incident_get(user=request.user, number=number)
    task = get_object_or_404(Task, pk=task_id, incident=incident)
    form = forms.TaskMoveForm(request.POST)
    return _run(
        request,
        incident,
        form,
        lambda data: services.task_move(task=task, by=request.user, state=data["state"]),
    )


@login_required
@require_POST
def workstream_start(request: HttpRequest, number: int) -> HttpResponse:
    incident = incident_get(user=request.user, number=number)
    form = forms.WorkstreamForm(request.POST)
    return _run(
        request,
        incident,
        form,
        lambda data: services.workstream_start(
            incident=incident,
            by=request.user,
            name=data["name"],
            goal=data["goal"],
            lead=data["lead"],
            members=list(data["members"]),
        ),
    )


@login_required
@require_POST
def workstream_close(request: HttpRequest, number: int, workstream_id: int) -> HttpResponse:
    incident = incident_get(user=request.user, number=number)
    workstream = get_object_or_404(Workstream, pk=workstream_id, incident=incident)
    return _run(
        request,
        incident,
        forms.ProposalAnswerForm(request.POST),
        lambda data: services.workstream_close(workstream=workstream, by=request.user),
    )


@login_required
@require_POST
def participant(request: HttpRequest, number: str, change: str) -> HttpResponse:
    """Let someone into a restricted incident, or out (the IC and admins; the reason goes on the timeline)."""
    if len(number) > 9:
        raise Http404("No such incident")
    incident = incident_get(user=request.user, number=int(number))
    form = forms.ParticipantForm(request.POST)
    service = services.participant_let_in if change == "add" else services.participant_let_out
    return _run(
        request,
        incident,
        form,
        lambda data: service(
            incident=incident, person=data["person"], by=request.user, reason=data["reason"]
        ),
    )

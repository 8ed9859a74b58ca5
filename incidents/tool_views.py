"""The room's response tools (incidents/services/tools.py) and its header forms: one view each.

Each looks the incident up through the visibility selector, validates with a
form, calls one service and answers the room as every room control does (the
panel that was used, plus what changed since the browser's revision).
"""

from collections.abc import Callable

from django.contrib.auth.decorators import login_required
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_http_methods, require_POST

from incidents import forms, selectors
from incidents.models import Change, Decision, Hypothesis, Incident
from incidents.services import IncidentError, incident_edit_details, tools
from incidents.views import form_errors, room_answer, room_refusal


def _tool(
    request: HttpRequest,
    incident: Incident,
    form: Form,
    change: Callable[[dict], object],
    *,
    partial: str = "tools",
) -> HttpResponse:
    if form.is_valid():
        try:
            change(form.cleaned_data)
        except IncidentError as error:
            form.add_error(None, str(error))
        else:
            return room_answer(request, incident, partial)
    errors = form_errors(form)
    return room_refusal(
        request, incident, partial, tools_changed=True, tool_errors=errors, header_errors=errors
    )


def _incident(request: HttpRequest, number: int) -> Incident:
    return selectors.incident_get(user=request.user, number=number)


def _hypothesis(incident: Incident, pk: int | None) -> Hypothesis | None:
    return incident.hypotheses.filter(pk=pk).first() if pk else None


@login_required
@require_POST
def hypothesis_raise(request: HttpRequest, number: int) -> HttpResponse:
    incident = _incident(request, number)
    return _tool(
        request,
        incident,
        forms.HypothesisForm(request.POST),
        lambda data: tools.hypothesis_raise(incident=incident, by=request.user, **data),
    )


@login_required
@require_POST
def hypothesis_decide(request: HttpRequest, number: int, hypothesis_id: int) -> HttpResponse:
    incident = _incident(request, number)
    hypothesis = get_object_or_404(Hypothesis, pk=hypothesis_id, incident=incident)
    return _tool(
        request,
        incident,
        forms.HypothesisDecideForm(request.POST),
        lambda data: tools.hypothesis_decide(hypothesis=hypothesis, by=request.user, **data),
    )


@login_required
@require_POST
def decision_record(request: HttpRequest, number: int) -> HttpResponse:
    incident = _incident(request, number)
    form = forms.DecisionForm(request.POST, hypotheses=incident.hypotheses.all())

    def record(data: dict) -> Decision:
        hypothesis = _hypothesis(incident, data.pop("hypothesis"))
        return tools.decision_record(incident=incident, by=request.user, hypothesis=hypothesis, **data)

    return _tool(request, incident, form, record)


@login_required
@require_POST
def decision_close(request: HttpRequest, number: int, decision_id: int) -> HttpResponse:
    incident = _incident(request, number)
    decision = get_object_or_404(Decision, pk=decision_id, incident=incident)
    return _tool(
        request,
        incident,
        forms.DecisionCloseForm(request.POST),
        lambda data: tools.decision_close(decision=decision, by=request.user, **data),
    )


@login_required
@require_POST
def change_record(request: HttpRequest, number: int) -> HttpResponse:
    incident = _incident(request, number)
    form = forms.ChangeForm(request.POST, hypotheses=incident.hypotheses.all())

    def record(data: dict) -> Change:
        hypothesis = _hypothesis(incident, data.pop("hypothesis"))
        return tools.change_record(incident=incident, by=request.user, hypothesis=hypothesis, **data)

    return _tool(request, incident, form, record)


@login_required
@require_POST
def change_restore(request: HttpRequest, number: int, change_id: int) -> HttpResponse:
    incident = _incident(request, number)
    change = get_object_or_404(Change, pk=change_id, incident=incident)
    return _tool(
        request,
        incident,
        forms.NoteForm(request.POST),
        lambda data: tools.change_restore(change=change, by=request.user, **data),
    )


@login_required
@require_POST
def change_keep(request: HttpRequest, number: int, change_id: int) -> HttpResponse:
    incident = _incident(request, number)
    change = get_object_or_404(Change, pk=change_id, incident=incident)
    return _tool(
        request,
        incident,
        forms.NoteForm(request.POST),
        lambda data: tools.change_keep(change=change, by=request.user, **data),
    )


@login_required
@require_POST
def verification_record(request: HttpRequest, number: int) -> HttpResponse:
    incident = _incident(request, number)
    return _tool(
        request,
        incident,
        forms.VerificationForm(request.POST),
        lambda data: tools.verification_record(incident=incident, by=request.user, **data),
    )


# --- The header: the rollback question, where to join, what was declared ---------------------------


@login_required
@require_POST
def rollback_answer(request: HttpRequest, number: int) -> HttpResponse:
    incident = _incident(request, number)
    return _tool(
        request,
        incident,
        forms.RollbackAnswerForm(request.POST),
        lambda data: tools.rollback_question_answer(incident=incident, by=request.user, **data),
        partial="header-forms",
    )


@login_required
@require_POST
def contacts_edit(request: HttpRequest, number: int) -> HttpResponse:
    incident = _incident(request, number)
    return _tool(
        request,
        incident,
        forms.ContactsForm(request.POST),
        lambda data: tools.incident_set_contacts(incident=incident, by=request.user, **data),
        partial="header-forms",
    )


@login_required
@require_http_methods(["GET", "POST"])
def details_edit(request: HttpRequest, number: int) -> HttpResponse:
    """GET: the header's edit forms, loaded when opened (their choices cost four queries); POST: save."""
    incident = _incident(request, number)
    if request.method == "GET":
        return render(
            request,
            "incidents/incident_room.html#details-forms",
            {"incident": incident, "details_choices": selectors.details_choices(incident)},
        )
    return _tool(
        request,
        incident,
        forms.DetailsForm(request.POST),
        lambda data: incident_edit_details(incident=incident, by=request.user, **data),
        partial="header-forms",
    )

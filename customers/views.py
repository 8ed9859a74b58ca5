"""The room's customer panels: the affected customers (calls, follow-ups, the ETA) and the direct update.

Both load themselves after the room (customers_tags.customers_slot), so the room keeps
its query budget; the room re-loads the first when an entry about customers, the ETA,
the status or the details arrives (incidents.views.room_delta). Every form answers with
its panel again (a refusal with the reason, status 422); without htmx, with the room.
"""

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from customers import forms, permissions, selectors, services
from customers.models import Customer, CustomerFollowUp
from customers.services import CustomerError
from incidents.models import Incident
from incidents.selectors import incident_get
from incidents.services import IncidentError, incident_set_eta
from incidents.views import room_delta
from roles.permissions import holders_of

# How long the panel keeps asking for the state of a direct update's deliveries.
FOLLOW_DELIVERIES = timedelta(minutes=2)


def _panel(request: HttpRequest, incident: Incident, *, status: int = 200, **extra) -> HttpResponse:
    """The affected customers, the calls to make, the follow-ups, the ETA (eleven queries)."""
    affected = selectors.affected_customers(incident)
    may_contact = permissions.may_contact_customers(request.user, incident, holders_of(incident))
    context = {
        "incident": incident,
        "affected": affected,
        "may_contact": may_contact,
        "addable": list(selectors.addable_customers(incident, affected)) if may_contact else [],
        "eta_form": forms.EtaForm(),
        # The panel follows a fresh update's deliveries by itself, for a while (a worker sends them in
        # seconds); a retry later, or a worker that is down, shows at the next reload of the panel.
        "pending": any(
            a.last_update_at is not None
            and timezone.now() - a.last_update_at < FOLLOW_DELIVERIES
            and any(word == "sending" for _, word, _ in a.deliveries)
            for a in affected.active
        ),
        **extra,
    }
    return render(request, "customers/_panel.html", context, status=status)


def _compose(
    request: HttpRequest, incident: Incident, *, form=None, status: int = 200, **extra
) -> HttpResponse:
    affected = selectors.affected_customers(incident, with_messages=False)
    may_contact = permissions.may_contact_customers(request.user, incident, holders_of(incident))
    subject, text = services.template_for(incident.status)
    if form is None:
        form = forms.DirectUpdateForm(initial={"subject": subject, "text": text, "eta_in": "keep"})
    return render(
        request,
        "customers/_compose.html",
        {"incident": incident, "affected": affected, "may_contact": may_contact, "form": form, **extra},
        status=status,
    )


def _answer(
    request: HttpRequest, incident: Incident, render_panel, partial: str = "customers"
) -> HttpResponse:
    """The panel that was used, and (as the room's own controls do) everything else that changed since
    the revision the browser shows: its room then knows it has seen this change, and does not load
    the panel once more over a note being typed (incidents.views.room_delta)."""
    if not request.htmx:
        return redirect(incident)
    response = render_panel()
    try:
        seen = int(request.POST.get("rev", ""))
    except ValueError:
        return response
    if response.status_code != 200:
        return response
    incident.refresh_from_db()
    return room_delta(request, incident, seen, main=response.content.decode(), main_partial=partial)


@login_required
@require_GET
def room_panel(request: HttpRequest, number: int) -> HttpResponse:
    return _panel(request, incident_get(user=request.user, number=number))


@login_required
@require_GET
def room_compose(request: HttpRequest, number: int) -> HttpResponse:
    return _compose(request, incident_get(user=request.user, number=number))


def _customer(pk: int) -> Customer | None:
    return Customer.objects.filter(pk=pk).first()


@login_required
@require_POST
def update_send(request: HttpRequest, number: int) -> HttpResponse:
    incident = incident_get(user=request.user, number=number)
    affected = selectors.affected_customers(incident, with_messages=False)
    choices = [(a.customer.pk, a.customer.name) for a in affected.active]
    form = forms.DirectUpdateForm(request.POST, customer_choices=choices)
    if form.is_valid():
        everyone = request.POST.get("to") != "chosen"
        try:
            update = services.direct_update_send(
                incident=incident,
                by=request.user,
                text=form.cleaned_data["text"],
                subject=form.cleaned_data["subject"],
                customer_ids=None if everyone else form.cleaned_data["customers"],
                eta=form.eta(),
                eta_reason=form.cleaned_data["eta_reason"],
                confirm_restricted=form.cleaned_data["confirm_restricted"],
            )
        except IncidentError as error:
            form.add_error(None, str(error))
        else:
            count = update.customer_messages.count()
            return _answer(
                request,
                incident,
                lambda: _compose(
                    request, incident, sent=f"Sent to {count} customer{'s' if count != 1 else ''}."
                ),
                partial="customers-compose",
            )
    if not request.htmx:
        return redirect(incident)
    return _compose(request, incident, form=form, status=422)


@login_required
@require_POST
def eta_set(request: HttpRequest, number: int) -> HttpResponse:
    incident = incident_get(user=request.user, number=number)
    form = forms.EtaForm(request.POST)
    errors = []
    if form.is_valid():
        try:
            incident_set_eta(
                incident=incident, by=request.user, eta=form.eta(), reason=form.cleaned_data["eta_reason"]
            )
        except IncidentError as error:
            errors.append(str(error))
    else:
        errors = [e for es in form.errors.values() for e in es]
    incident.refresh_from_db()
    return _answer(
        request, incident, lambda: _panel(request, incident, status=422 if errors else 200, errors=errors)
    )


def _act(request: HttpRequest, number: int, form_class, act) -> HttpResponse:
    """Validate a small panel form, call the one service it stands for, answer with the panel."""
    incident = incident_get(user=request.user, number=number)
    form = form_class(request.POST)
    errors = []
    if form.is_valid():
        try:
            act(incident, form.cleaned_data)
        except IncidentError as error:
            errors.append(str(error))
    else:
        errors = [e for es in form.errors.values() for e in es]
    return _answer(
        request, incident, lambda: _panel(request, incident, status=422 if errors else 200, errors=errors)
    )


def _known(pk: int) -> Customer:
    customer = _customer(pk)
    if customer is None:
        raise CustomerError("There is no such customer.")
    return customer


@login_required
@require_POST
def call_record(request: HttpRequest, number: int) -> HttpResponse:
    return _act(
        request,
        number,
        forms.CallForm,
        lambda incident, data: services.call_record(
            incident=incident,
            customer=_known(data["customer"]),
            by=request.user,
            outcome=data["outcome"],
            note=data["note"],
        ),
    )


@login_required
@require_POST
def affected_add(request: HttpRequest, number: int) -> HttpResponse:
    return _act(
        request,
        number,
        forms.AffectedAddForm,
        lambda incident, data: services.affected_add(
            incident=incident, customer=_known(data["customer"]), by=request.user
        ),
    )


@login_required
@require_POST
def affected_remove(request: HttpRequest, number: int) -> HttpResponse:
    return _act(
        request,
        number,
        forms.AffectedRemoveForm,
        lambda incident, data: services.affected_remove(
            incident=incident, customer=_known(data["customer"]), by=request.user, reason=data["reason"]
        ),
    )


def _settle(incident: Incident, data: dict, by) -> None:
    follow_up = CustomerFollowUp.objects.filter(pk=data["follow_up"], affected__incident=incident).first()
    if follow_up is None:
        raise CustomerError("There is no such follow-up on this incident.")
    if data["outcome"] == "confirmed":
        services.follow_up_confirm(follow_up=follow_up, by=by, note=data["note"])
    else:
        services.follow_up_close(follow_up=follow_up, by=by, reason=data["note"])


@login_required
@require_POST
def follow_up_settle(request: HttpRequest, number: int) -> HttpResponse:
    return _act(
        request, number, forms.FollowUpForm, lambda incident, data: _settle(incident, data, request.user)
    )

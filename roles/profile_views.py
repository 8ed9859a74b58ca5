"""The signed-in person's profile: how a page reaches them (contact methods, notification rules).

Contact methods are comms' (ContactMethod, an apprise URL kept encrypted);
the rules that use them are roles' (NotificationRule). Each view calls one service.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from comms import services as comms_services
from comms.models import ContactMethod, Delivery, Message
from comms.selectors import contact_methods_of
from roles.models import NotificationRule, Urgency
from roles.profile_forms import ContactMethodForm, RuleForm
from roles.selectors import profile_for
from roles.services import RoleError
from roles.services.notification_rules import (
    MAX_DELAY_MINUTES,
    notification_rule_add,
    notification_rule_remove,
    rules_of,
)


def _render(
    request: HttpRequest,
    *,
    method_form: ContactMethodForm | None = None,
    rule_form: RuleForm | None = None,
    status: int = 200,
) -> HttpResponse:
    methods = list(contact_methods_of(request.user))
    rules = list(rules_of(request.user))
    context = {
        "person_profile": profile_for(request.user),
        "methods": methods,
        "method_form": method_form or ContactMethodForm(),
        "rule_form": rule_form or RuleForm(methods=methods),
        "urgencies": [
            (value, label, [rule for rule in rules if rule.urgency == value])
            for value, label in Urgency.choices
        ],
        "max_delay": MAX_DELAY_MINUTES,
    }
    return render(request, "roles/profile.html", context, status=status)


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    return _render(request)


@login_required
@require_POST
def contact_method_add(request: HttpRequest) -> HttpResponse:
    form = ContactMethodForm(request.POST)
    if form.is_valid():
        try:
            method = comms_services.contact_method_add(
                user=request.user, label=form.cleaned_data["label"], url=form.cleaned_data["url"]
            )
        except comms_services.CommsError as error:
            form.add_error("url", str(error))
        else:
            messages.success(request, f"“{method.label}” is saved. Send a test to see that it reaches you.")
            return redirect("profile")
    # The URL may be a credential: it is not written back into the page, even unsaved.
    form.data = form.data.copy()
    form.data["url"] = ""
    return _render(request, method_form=form, status=400)


def _own_method(request: HttpRequest, method_id: int) -> ContactMethod:
    return get_object_or_404(ContactMethod, pk=method_id, user=request.user)


@login_required
@require_POST
def contact_method_remove(request: HttpRequest, method_id: int) -> HttpResponse:
    method = _own_method(request, method_id)
    comms_services.contact_method_remove(method=method, by=request.user)
    messages.success(request, f"“{method.label}” is removed, with the steps of your rules that used it.")
    return redirect("profile")


def _test_result(request: HttpRequest, delivery: Delivery) -> HttpResponse:
    return render(request, "roles/profile.html#test_result", {"delivery": delivery})


@login_required
@require_POST
def contact_method_test(request: HttpRequest, method_id: int) -> HttpResponse:
    """Send a test through the outbox and try it at once, so the answer shows in place."""
    method = _own_method(request, method_id)
    delivery = comms_services.contact_method_test(method=method, by=request.user)
    delivery = comms_services.delivery_try_now(delivery=delivery)
    if request.htmx:
        return _test_result(request, delivery)
    if delivery.state == Delivery.State.SENT:
        messages.success(request, f"The test to “{method.label}” was sent.")
    else:
        messages.error(request, f"The test to “{method.label}”: {delivery.last_error or delivery.state}.")
    return redirect("profile")


@login_required
def contact_method_test_result(request: HttpRequest, delivery_id: int) -> HttpResponse:
    """The state of one of the person's own tests (the result polls while a worker has it)."""
    delivery = get_object_or_404(
        Delivery, pk=delivery_id, user=request.user, message__kind=Message.Kind.CONTACT_TEST
    )
    return _test_result(request, delivery)


@login_required
@require_POST
def rule_add(request: HttpRequest) -> HttpResponse:
    methods = list(contact_methods_of(request.user))
    form = RuleForm(request.POST, methods=methods)
    if form.is_valid():
        try:
            notification_rule_add(
                user=request.user,
                by=request.user,
                urgency=form.cleaned_data["urgency"],
                delay_minutes=form.cleaned_data["delay_minutes"],
                contact_method=form.contact_method(),
            )
        except RoleError as error:
            form.add_error(None, str(error))
        else:
            return redirect("profile")
    return _render(request, rule_form=form, status=400)


@login_required
@require_POST
def rule_remove(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(NotificationRule, pk=rule_id, user=request.user)
    notification_rule_remove(rule=rule, by=request.user)
    return redirect("profile")

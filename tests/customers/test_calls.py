"""The call reminder: an ETA more than an hour away means calling every affected customer; the beat
reminds the liaison once per period, with the phone numbers, until each is called or skipped."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from comms.models import Message
from customers import selectors
from customers.models import AffectedCustomer
from customers.services import CustomerError, NotAllowed, call_record, call_reminders_send
from incidents.models import TimelineEntry
from incidents.services import incident_set_eta
from tests.factories import UserFactory


def _reminders(incident):
    return list(
        Message.objects.filter(incident=incident, dedup_key__startswith="customers:call:").order_by("pk")
    )


def test_no_call_while_the_eta_is_within_the_hour(sev1, liaison, acme):
    incident_set_eta(incident=sev1, by=liaison, eta=timezone.now() + timedelta(minutes=50))
    sev1.refresh_from_db()
    assert selectors.call_due_since(sev1) is None
    assert selectors.affected_customers(sev1).to_call == []
    assert call_reminders_send() == 0


def test_the_reminder_lists_the_phones_repeats_each_period_and_stops_when_all_are_called(
    sev1, liaison, acme, globex
):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        incident_set_eta(incident=sev1, by=liaison, eta=start + timedelta(hours=2))
        assert call_reminders_send() == 1
        assert call_reminders_send() == 0  # the same period: once
    [first] = _reminders(sev1)
    assert first.deliveries.filter(user=liaison).exists()
    assert "+1 555 0100" in first.body and "+1 555 0199" in first.body
    assert "Acme Corp" in first.body and "Globex" in first.body

    with time_machine.travel(start + timedelta(minutes=16), tick=False):
        call_record(incident=sev1, customer=acme, by=liaison, outcome="called", note="Jane knows; they wait")
        assert call_reminders_send() == 1  # Globex is still to call
    second = _reminders(sev1)[-1]
    assert "Globex" in second.body and "Acme Corp" not in second.body

    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        call_record(
            incident=sev1, customer=globex, by=liaison, outcome="skipped", note="Their office is closed"
        )
    with time_machine.travel(start + timedelta(minutes=35), tick=False):
        assert call_reminders_send() == 0  # everyone is recorded: it stops
    assert len(_reminders(sev1)) == 2
    calls = sev1.timeline.filter(kind=TimelineEntry.Kind.CUSTOMER, data__customer_event="call")
    assert calls.count() == 2


def test_moving_the_eta_past_an_hour_again_asks_for_new_calls(sev1, liaison, acme):
    incident_set_eta(incident=sev1, by=liaison, eta=timezone.now() + timedelta(hours=2))
    call_record(incident=sev1, customer=acme, by=liaison, outcome="called")
    sev1.refresh_from_db()
    assert selectors.affected_customers(sev1).to_call == []
    incident_set_eta(incident=sev1, by=liaison, eta=timezone.now() + timedelta(hours=4))
    sev1.refresh_from_db()
    assert [a.customer for a in selectors.affected_customers(sev1).to_call] == [acme]


def test_a_skipped_call_needs_the_reason(sev1, liaison, acme):
    incident_set_eta(incident=sev1, by=liaison, eta=timezone.now() + timedelta(hours=2))
    with pytest.raises(CustomerError, match="why the call is skipped"):
        call_record(incident=sev1, customer=acme, by=liaison, outcome="skipped", note=" ")
    assert not AffectedCustomer.objects.filter(call_state__gt="").exists()


def test_only_those_who_speak_to_customers_record_calls(sev1, acme):
    with pytest.raises(NotAllowed):
        call_record(incident=sev1, customer=acme, by=UserFactory(), outcome="called")


def test_a_customer_not_affected_cannot_be_called(sev1, liaison, initech):
    with pytest.raises(CustomerError, match="not on the list"):
        call_record(incident=sev1, customer=initech, by=liaison, outcome="called")


def test_a_resolved_incident_asks_for_no_call(sev1, liaison, commander, acme):
    from incidents.services import incident_change_status
    from incidents.services.tools import verification_record

    incident_set_eta(incident=sev1, by=liaison, eta=timezone.now() + timedelta(hours=2))
    verification_record(incident=sev1, by=commander, checked="Checkout works again")
    incident_change_status(incident=sev1, status="resolved", by=commander)
    assert call_reminders_send() == 0

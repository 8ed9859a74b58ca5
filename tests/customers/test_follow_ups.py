"""After resolution: a follow-up and a task for the liaison per affected customer; "confirmed working"
takes the customer off the incident's list and closes the task."""

import pytest

from comms.models import Message
from customers import selectors
from customers.models import CustomerFollowUp
from customers.services import (
    CustomerError,
    NotAllowed,
    affected_remove,
    follow_up_close,
    follow_up_confirm,
    follow_ups_open,
    follow_ups_open_missed,
)
from incidents.models import TimelineEntry
from incidents.services import incident_change_status, incident_reopen
from incidents.services.tools import verification_record
from roles.models import Task
from tests.factories import UserFactory


def _resolve(incident, by, capture):
    verification_record(incident=incident, by=by, checked="Checkout works again from three regions")
    with capture(execute=True):
        incident_change_status(incident=incident, status="resolved", by=by)
    incident.refresh_from_db()


def test_resolving_gives_the_liaison_a_follow_up_per_affected_customer(
    sev1, commander, liaison, acme, globex, initech, django_capture_on_commit_callbacks
):
    _resolve(sev1, commander, django_capture_on_commit_callbacks)

    follow_ups = CustomerFollowUp.objects.filter(affected__incident=sev1).select_related("affected__customer")
    assert sorted(f.affected.customer.name for f in follow_ups) == ["Acme Corp", "Globex"]
    tasks = Task.objects.filter(incident=sev1, assignee=liaison)
    assert sorted(t.title for t in tasks) == [
        "Follow up with Acme Corp: make sure everything is working from their end",
        "Follow up with Globex: make sure everything is working from their end",
    ]
    assert all(f.task is not None and f.is_pending for f in follow_ups)
    notice = Message.objects.get(dedup_key__startswith=f"customers:follow-ups:{sev1.pk}:")
    assert notice.deliveries.filter(user=liaison).exists() and "Acme Corp and Globex" in notice.body
    assert sev1.timeline.filter(
        kind=TimelineEntry.Kind.CUSTOMER, data__customer_event="follow_ups_opened"
    ).exists()

    # Opened once: the task again, or the beat's sweep, opens nothing more.
    assert follow_ups_open(incident_id=sev1.pk) == []
    assert follow_ups_open_missed() == 0
    assert CustomerFollowUp.objects.count() == 2


def test_confirmed_working_takes_the_customer_off_the_list_and_closes_the_task(
    sev1, commander, liaison, acme, globex, django_capture_on_commit_callbacks
):
    _resolve(sev1, commander, django_capture_on_commit_callbacks)
    pending = selectors.affected_customers(sev1).follow_ups_pending
    assert [a.customer.name for a in pending] == ["Acme Corp", "Globex"]

    acme_follow_up = CustomerFollowUp.objects.get(affected__customer=acme)
    follow_up_confirm(follow_up=acme_follow_up, by=liaison, note="Jane: orders flow again")

    assert [a.customer.name for a in selectors.affected_customers(sev1).follow_ups_pending] == ["Globex"]
    acme_follow_up.refresh_from_db()
    assert acme_follow_up.state == "confirmed" and acme_follow_up.settled_by == liaison
    assert Task.objects.get(pk=acme_follow_up.task_id).state == Task.State.DONE
    entry = sev1.timeline.filter(kind=TimelineEntry.Kind.CUSTOMER, data__customer_event="follow_up").get()
    assert "Acme Corp confirmed everything is working" in entry.body
    with pytest.raises(CustomerError, match="confirmed working already"):
        follow_up_confirm(follow_up=acme_follow_up, by=liaison)


def test_closing_without_confirmation_needs_the_reason(
    sev1, commander, liaison, acme, django_capture_on_commit_callbacks
):
    _resolve(sev1, commander, django_capture_on_commit_callbacks)
    follow_up = CustomerFollowUp.objects.get()
    with pytest.raises(CustomerError, match="Say why"):
        follow_up_close(follow_up=follow_up, by=liaison, reason="")
    follow_up_close(follow_up=follow_up, by=liaison, reason="No answer after three calls")
    assert Task.objects.get(pk=follow_up.task_id).state == Task.State.DROPPED
    assert selectors.affected_customers(sev1).follow_ups_pending == []


def test_someone_else_cannot_settle_a_follow_up(sev1, commander, acme, django_capture_on_commit_callbacks):
    _resolve(sev1, commander, django_capture_on_commit_callbacks)
    with pytest.raises(NotAllowed):
        follow_up_confirm(follow_up=CustomerFollowUp.objects.get(), by=UserFactory())


def test_a_removed_customer_gets_no_follow_up(
    sev1, commander, liaison, acme, globex, django_capture_on_commit_callbacks
):
    affected_remove(incident=sev1, customer=globex, by=liaison, reason="They moved to the US region")
    _resolve(sev1, commander, django_capture_on_commit_callbacks)
    assert [f.affected.customer for f in CustomerFollowUp.objects.all()] == [acme]


def test_the_beat_opens_follow_ups_a_lost_task_did_not(sev1, commander, liaison, acme):
    # Resolved without running the on-commit task (the broker was down).
    verification_record(incident=sev1, by=commander, checked="Checkout works")
    incident_change_status(incident=sev1, status="resolved", by=commander)
    assert not CustomerFollowUp.objects.exists()
    assert follow_ups_open_missed() == 1
    assert CustomerFollowUp.objects.get().affected.customer == acme


def test_resolved_again_after_a_reopen_follows_up_once_more_with_those_who_had_confirmed(
    sev1, commander, liaison, acme, django_capture_on_commit_callbacks
):
    _resolve(sev1, commander, django_capture_on_commit_callbacks)
    follow_up_confirm(follow_up=CustomerFollowUp.objects.get(), by=liaison)
    incident_reopen(incident=sev1, by=commander, reason="Errors are back")
    _resolve(sev1, commander, django_capture_on_commit_callbacks)
    assert list(CustomerFollowUp.objects.order_by("pk").values_list("state", flat=True)) == [
        "confirmed",
        "pending",
    ]

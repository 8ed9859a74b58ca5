"""Follow-ups: from TODOs, from patch and workaround decisions, from the review; states; webhooks."""

import importlib

import pytest
from django.apps import apps as django_apps

from comms.models import Message
from incidents.models import TimelineEntry
from incidents.services import incident_declare, timeline_add, timeline_strike
from incidents.services.tools import decision_record
from integrations.webhooks import subscriptions_changed, webhook_subscribe
from reviews.models import FollowUp
from reviews.services import ReviewError, follow_up_create, follow_up_update, follow_ups_set_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(user):
    return incident_declare(title="[Outage]: Search", severity=3, declared_by=user)


def test_a_todo_in_the_room_becomes_a_follow_up_owned_by_its_author(incident, user):
    entry = timeline_add(
        incident=incident, kind="todo", body="Add an alert on queue depth\nIt hid for an hour", author=user
    )
    follow_up = FollowUp.objects.get(source_entry=entry)
    assert follow_up.title == "Add an alert on queue depth"
    assert "It hid for an hour" in follow_up.description
    assert follow_up.owner == user and follow_up.state == FollowUp.State.OPEN
    assert follow_up.source == FollowUp.Source.TODO


@pytest.mark.parametrize("kind", ["patch", "workaround"])
def test_a_patch_or_workaround_decision_makes_a_follow_up(incident, user, kind):
    decision = decision_record(
        incident=incident, by=user, kind=kind, summary="Raise the pool", reason="Buys time"
    )
    follow_up = FollowUp.objects.get(source_decision=decision)
    assert "Raise the pool" in follow_up.title
    assert follow_up.owner == user and follow_up.due_on is not None
    assert follow_up.priority == FollowUp.Priority.HIGH


@pytest.mark.parametrize("kind", ["fix", "rollback"])
def test_a_fix_or_rollback_makes_none(incident, user, kind):
    decision_record(
        incident=incident, by=user, kind=kind, summary="Do it", reason="Because", rollback_to="v1"
    )
    assert not FollowUp.objects.exists()


def test_wont_do_needs_a_reason_and_done_closes(incident, user):
    follow_up = follow_up_create(incident=incident, by=user, title="Rotate keys")
    with pytest.raises(ReviewError, match="will not be done"):
        follow_up_update(follow_up=follow_up, by=user, state=FollowUp.State.WONT_DO)
    follow_up = follow_up_update(
        follow_up=follow_up, by=user, state=FollowUp.State.WONT_DO, wont_do_reason="Moot"
    )
    assert follow_up.closed_at is not None and follow_up.wont_do_reason == "Moot"
    follow_up = follow_up_update(follow_up=follow_up, by=user, state=FollowUp.State.OPEN)
    assert follow_up.closed_at is None and follow_up.wont_do_reason == ""
    assert incident.timeline.filter(data__follow_up=follow_up.pk).count() == 3  # added, won't do, reopened


def test_bulk_change_is_all_or_nothing(incident, user):
    a = follow_up_create(incident=incident, by=user, title="A")
    b = follow_up_create(incident=incident, by=user, title="B")
    with pytest.raises(ReviewError):
        follow_ups_set_state(follow_ups=[a, b], by=user, state=FollowUp.State.WONT_DO)
    follow_ups_set_state(follow_ups=[a, b], by=user, state=FollowUp.State.DONE)
    assert set(FollowUp.objects.values_list("state", flat=True)) == {"done"}


def test_an_outsider_cannot_own_a_restricted_follow_up(user, outsider):
    secret = incident_declare(
        title="Leak", severity=2, declared_by=user, is_security=True, rollback_considered="No"
    )
    with pytest.raises(ReviewError, match="does not take part"):
        follow_up_create(incident=secret, by=user, title="Rotate", owner=outsider)


def test_follow_up_events_go_to_webhooks_once_per_change(incident, user, settings):
    subscription, _secret = webhook_subscribe(
        name="Jira mirror",
        url="https://hooks.example.com/jira",
        events=["follow_up.created", "follow_up.updated"],
        by=user,
    )
    subscriptions_changed()  # on commit in production; the test's transaction never commits
    follow_up = follow_up_create(incident=incident, by=user, title="Rotate keys")
    follow_up_update(follow_up=follow_up, by=user, state=FollowUp.State.IN_PROGRESS)
    follow_up_update(follow_up=follow_up, by=user, state=FollowUp.State.IN_PROGRESS)  # no change: no event
    messages = Message.objects.filter(kind="webhook_event").order_by("pk")
    assert [m.context["event"] for m in messages] == ["follow_up.created", "follow_up.updated"]
    assert messages[1].context["follow_up"]["state"] == "in_progress"
    assert messages[1].context["incident"]["reference"] == incident.reference


def test_the_migration_turns_existing_todos_into_follow_ups(incident, user):
    kept = timeline_add(incident=incident, kind="todo", body="Write the runbook", author=user)
    struck = timeline_add(incident=incident, kind="todo", body="Maybe rewrite everything", author=user)
    timeline_strike(entry=struck, by=user, reason="Not a real plan")
    # As before this app existed: TODO entries without follow-ups.
    FollowUp.objects.all().delete()
    migration = importlib.import_module("reviews.migrations.0002_todo_entries_become_follow_ups")
    migration.todo_entries_become_follow_ups(django_apps, None)
    migration.todo_entries_become_follow_ups(django_apps, None)  # twice: idempotent
    rows = {f.source_entry_id: f for f in FollowUp.objects.all()}
    assert set(rows) == {kept.pk, struck.pk}
    assert rows[kept.pk].title == "Write the runbook" and rows[kept.pk].state == "open"
    assert rows[kept.pk].owner == user
    assert rows[struck.pk].state == "wont_do" and "Not a real plan" in rows[struck.pk].wont_do_reason
    assert TimelineEntry.objects.filter(kind="todo").count() == 2

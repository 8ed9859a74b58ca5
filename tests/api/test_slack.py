import time
from datetime import timedelta

import pytest
from django.utils import timezone

from comms.models import Channel, Message
from incidents.models import Incident, TimelineEntry
from incidents.services import incident_change_status
from integrations.models import SlackStalk
from integrations.slack import signature_for, signature_is_valid, slack_stalks_post
from roles.models import IncidentRole, LayerMember, Page, RotationLayer, Schedule
from tests.api.slack import SECRET, linked_person, slack
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def signing_secret(settings):
    settings.SLACK_SIGNING_SECRET = SECRET


@pytest.fixture
def alice(db):
    return linked_person("alice", "U0ALICE", first_name="Alice", last_name="Arnold")


def test_the_signature_check_follows_slacks_rules():
    body = b"token=x&text=status"
    now = 1_700_000_000
    good = signature_for(secret=SECRET, timestamp=str(now), body=body)
    assert good.startswith("v0=") and len(good) == 67
    assert signature_is_valid(secret=SECRET, timestamp=str(now), body=body, signature=good, now=now + 299)
    assert not signature_is_valid(secret=SECRET, timestamp=str(now), body=body, signature=good, now=now + 301)
    assert not signature_is_valid(secret=SECRET, timestamp=str(now), body=body, signature=good, now=now - 301)
    assert not signature_is_valid(
        secret=SECRET, timestamp=str(now), body=body + b"x", signature=good, now=now
    )
    assert not signature_is_valid(secret="other", timestamp=str(now), body=body, signature=good, now=now)
    assert not signature_is_valid(secret=SECRET, timestamp="soon", body=body, signature=good, now=now)
    assert not signature_is_valid(secret=SECRET, timestamp=str(now), body=body, signature="", now=now)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"secret": "wrong-secret"},
        {"timestamp": str(int(time.time()) - 600)},
        {"signature": "v0=" + "0" * 64},
        {"signature": "garbage"},
    ],
)
def test_a_bad_signature_or_stale_timestamp_is_401_and_does_nothing(client, kwargs):
    response = slack(client, "declare Checkout is down", **kwargs)
    assert response.status_code == 401
    assert Incident.objects.count() == 0


def test_no_signing_secret_means_no_endpoint(client, settings):
    settings.SLACK_SIGNING_SECRET = ""
    assert slack(client, "status").status_code == 404


def test_declare_from_slack(client, alice):
    response = slack(client, "declare sev2 Checkout is down")
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_type"] == "in_channel" and "INC-" in answer["text"]
    incident = Incident.objects.get()
    assert incident.title == "Checkout is down" and incident.severity == 2 and incident.declared_by == alice


def test_status_answers_with_severity_status_roles_and_last_updates(client, alice):
    slack(client, "declare Search is slow")
    slack(client, "note Restarted the indexer")
    answer = slack(client, "status").json()
    text = answer["text"]
    assert answer["response_type"] == "in_channel"
    assert "SEV-3" in text and "Triage" in text and "Roles:" in text and "Restarted the indexer" in text


def test_a_note_is_written_by_the_linked_person(client, alice):
    incident = IncidentFactory()
    answer = slack(client, f"note {incident.reference} DB failover done").json()
    assert answer["text"].startswith("Noted")
    entry = incident.timeline.filter(kind=TimelineEntry.Kind.NOTE).latest("id")
    assert entry.body == "DB failover done" and entry.author == alice


def test_ic_page_pages_primary_and_backup(client, alice):
    schedule = Schedule.objects.create(name="IC", role=IncidentRole.INCIDENT_COMMANDER)
    layer = RotationLayer.objects.create(
        schedule=schedule, start_date=(timezone.now() - timedelta(days=1)).date()
    )
    first, second = UserFactory(), UserFactory()
    LayerMember.objects.create(layer=layer, user=first, position=0)
    LayerMember.objects.create(layer=layer, user=second, position=1)
    slack(client, "declare Payments down")
    answer = slack(client, "ic page").json()
    assert answer["response_type"] == "in_channel", answer
    page = Page.objects.get()
    assert set(page.notified.values_list("pk", flat=True)) == {first.pk, second.pk}


def test_ic_page_without_a_roster_says_why(client, alice):
    slack(client, "declare Payments down")
    answer = slack(client, "ic page").json()
    assert answer["response_type"] == "ephemeral" and "schedule" in answer["text"]


def test_unknown_commands_get_the_usage(client, alice):
    answer = slack(client, "dance").json()
    assert answer["response_type"] == "ephemeral" and "Usage" in answer["text"]


def test_status_stalk_posts_every_period_until_resolved_or_stopped(client, settings, alice):
    webhook = Channel.objects.create(
        name="#incidents", slug="slack-c0incident", kind=Channel.Kind.SLACK, url="https://hooks.example.com/x"
    )
    slack(client, "declare Login broken")
    assert "no incoming webhook" in slack(client, "status stalk", channel_id="COTHER").json()["text"]
    answer = slack(client, "status stalk").json()
    assert answer["response_type"] == "in_channel" and "every 30 seconds" in answer["text"]
    assert "already" in slack(client, "status stalk").json()["text"]
    stalk = SlackStalk.objects.get()
    now = timezone.now()
    assert slack_stalks_post(now=now) == 1
    assert slack_stalks_post(now=now) == 1  # the same period: the outbox keeps one message
    assert Message.objects.filter(incident=stalk.incident, deliveries__channel=webhook).count() == 1
    slack_stalks_post(now=now + timedelta(seconds=31))
    assert Message.objects.filter(incident=stalk.incident, deliveries__channel=webhook).count() == 2
    incident_change_status(incident=stalk.incident, status="declined", by=None, note="A bad check")
    slack_stalks_post(now=now + timedelta(seconds=62))
    stalk.refresh_from_db()
    assert stalk.stopped_at is not None
    assert slack_stalks_post(now=now + timedelta(seconds=93)) == 0


def test_status_stop_stops_the_posts(client, alice):
    Channel.objects.create(
        name="#inc", slug="slack-c0incident", kind=Channel.Kind.SLACK, url="https://hooks.example.com/x"
    )
    slack(client, "declare Login broken")
    slack(client, "status stalk")
    assert slack(client, "status stop").json()["text"].startswith("Stopped")
    assert SlackStalk.objects.get().stopped_at is not None
    assert slack_stalks_post() == 0


def test_it_needs_no_csrf_token():
    from django.test import Client

    assert slack(Client(enforce_csrf_checks=True), "help").status_code == 200


def test_a_change_is_recorded_with_its_old_value_from_slack(client, alice):
    incident = IncidentFactory(severity=2)
    answer = slack(client, f"change INC-{incident.number} DB_POOL_SIZE from 20 to 80 in checkout env").json()
    assert answer["response_type"] == "in_channel" and "from 20 to 80" in answer["text"]
    change = incident.changes.get()
    assert (change.what, change.where, change.old_value, change.new_value) == (
        "DB_POOL_SIZE",
        "checkout env",
        "20",
        "80",
    )
    assert change.recorded_by == alice
    slack(client, f"change INC-{incident.number} feature_x from on to off")
    assert incident.changes.get(what="feature_x").where == "feature_x"
    bad = slack(client, f"change INC-{incident.number} something happened").json()
    assert "from 20 to 80" in bad["text"] and incident.changes.count() == 2


def test_hypotheses_are_raised_and_listed_from_slack(client, alice):
    from incidents.services import tools

    incident = IncidentFactory(severity=2)
    slack(client, f"hypothesis INC-{incident.number} The pool is exhausted")
    dns = tools.hypothesis_raise(incident=incident, by=alice, statement="DNS flaps")
    tools.hypothesis_decide(hypothesis=dns, by=alice, state="ruled_out", evidence="dig is fine")
    listed = slack(client, f"hypotheses INC-{incident.number}").json()["text"]
    assert "The pool is exhausted" in listed and "DNS flaps" not in listed


def test_a_restricted_incident_s_hypotheses_answer_only_the_asker(client, alice):
    from incidents.models import Participation

    secret = IncidentFactory(severity=1, is_security=True)
    Participation.objects.create(incident=secret, user=alice)
    answer = slack(client, f"hypotheses INC-{secret.number}").json()
    assert answer["response_type"] == "ephemeral"

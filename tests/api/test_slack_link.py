"""Slack users are who they linked themselves to, by Slack user id, never by the name they chose.

Through the real endpoint with valid v0 signatures (tests/api/test_slack.py)
and the real Slack page of a signed-in person.
"""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from incidents.models import Incident, Participation
from integrations.models import SlackIdentity, SlackLinkCode, SlackStalk
from integrations.slack import slack_stalks_post
from tests.api.slack import SECRET, linked_person, slack
from tests.factories import IncidentFactory, UserFactory
from tests.incidents.pages import text_of

pytestmark = pytest.mark.django_db

CODE = re.compile(r"/incident link ([A-Z0-9]{4}-[A-Z0-9]{4})")


@pytest.fixture(autouse=True)
def signing_secret(settings):
    settings.SLACK_SIGNING_SECRET = SECRET


@pytest.fixture
def alice(db):
    return linked_person("alice", "U0ALICE", first_name="Alice", last_name="Arnold")


@pytest.fixture
def iris(db):
    return UserFactory(username="iris", first_name="Iris", last_name="Commander")


def code_for(client, person) -> str:
    client.force_login(person)
    response = client.post("/settings/slack/")
    assert response.status_code == 200
    client.logout()
    return CODE.search(text_of(response)).group(1)


def test_a_person_links_their_slack_user_with_a_code_from_their_slack_page(client, iris):
    code = code_for(client, iris)
    answer = slack(client, f"link {code}", user_id="U0IRIS", user_name="iris.c").json()
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("Linked") and "Iris Commander" in answer["text"]
    identity = SlackIdentity.objects.get()
    assert (identity.user, identity.team_id, identity.slack_user_id) == (iris, "T0001", "U0IRIS")

    slack(client, "declare sev2 Checkout is down", user_id="U0IRIS", user_name="iris.c")
    assert Incident.objects.get().declared_by == iris

    client.force_login(iris)
    page = text_of(client.get("/settings/slack/"))
    assert "U0IRIS" in page and "@iris.c" in page and "T0001" in page


def test_the_code_is_typed_loosely(client, iris):
    code = code_for(client, iris)
    answer = slack(client, f"link {code.lower().replace('-', ' ')}", user_id="U0IRIS").json()
    assert answer["text"].startswith("Linked")


def test_a_code_is_stored_as_a_hash_and_works_once(client, iris):
    code = code_for(client, iris)
    row = SlackLinkCode.objects.get()
    stored = " ".join(str(v) for v in SlackLinkCode.objects.values_list().get())
    assert code not in stored and code.replace("-", "") not in stored and len(row.code_hash) == 64

    assert slack(client, f"link {code}", user_id="U0IRIS").json()["text"].startswith("Linked")
    answer = slack(client, f"link {code}", user_id="U0MALLORY", user_name="iris").json()
    assert answer["response_type"] == "ephemeral" and "does not work" in answer["text"]
    assert list(SlackIdentity.objects.values_list("slack_user_id", flat=True)) == ["U0IRIS"]


def test_a_code_expires(client, iris, settings):
    code = code_for(client, iris)
    later = timezone.now() + timedelta(seconds=settings.SLACK_LINK_CODE_MAX_AGE_SECONDS + 1)
    with time_machine.travel(later, tick=True):  # the whole process: Slack's timestamp and the check
        answer = slack(client, f"link {code}", user_id="U0IRIS").json()
    assert "does not work" in answer["text"] and "/settings/slack/" in answer["text"]
    assert not SlackIdentity.objects.exists()


def test_a_new_code_replaces_the_unused_one(client, iris):
    first = code_for(client, iris)
    second = code_for(client, iris)
    assert "does not work" in slack(client, f"link {first}", user_id="U0IRIS").json()["text"]
    assert slack(client, f"link {second}", user_id="U0IRIS").json()["text"].startswith("Linked")


def test_a_wrong_code_links_nobody(client, iris):
    code_for(client, iris)
    assert "does not work" in slack(client, "link ABCD-EFGH", user_id="U0IRIS").json()["text"]
    assert "Type the code from" in slack(client, "link", user_id="U0IRIS").json()["text"]
    assert not SlackIdentity.objects.exists()


# --- Who a Slack user is -----------------------------------------------------------------------


def test_an_unlinked_slack_user_is_told_how_to_link_and_nothing_happens(client):
    UserFactory(username="alice")  # a Coolhead person called alice, whose Slack user is not linked
    incident = IncidentFactory()
    for text in ("declare Checkout is down", f"status {incident.reference}", f"note {incident.reference} x"):
        answer = slack(client, text, user_name="alice", user_id="U0ALICE").json()
        assert answer["response_type"] == "ephemeral"
        assert "/incident link <code>" in answer["text"]
        assert "http://127.0.0.1:8000/settings/slack/" in answer["text"]
    assert Incident.objects.count() == 1 and incident.timeline.count() == 1


def test_the_slack_user_name_is_never_trusted(client, alice):
    # Anyone may call themselves "alice" in Slack: the user id decides.
    incident = IncidentFactory()
    answer = slack(client, f"status {incident.reference}", user_name="alice", user_id="U0MALLORY").json()
    assert "/incident link" in answer["text"] and incident.title not in answer["text"]
    # Alice renamed herself in Slack: still Alice.
    slack(client, "declare Search is slow", user_name="definitely-not-alice", user_id="U0ALICE")
    assert Incident.objects.get(title="Search is slow").declared_by == alice


def test_the_same_user_id_in_another_workspace_is_someone_else(client, alice):
    answer = slack(client, "declare Search is slow", team_id="T0OTHER").json()
    assert "/incident link" in answer["text"] and not Incident.objects.exists()


def test_a_deactivated_person_is_unlinked_in_effect(client, alice):
    alice.is_active = False
    alice.save()
    assert "/incident link" in slack(client, "declare Search is slow").json()["text"]
    assert not Incident.objects.exists()


def test_unlink_from_slack(client, alice):
    answer = slack(client, "unlink").json()
    assert answer["response_type"] == "ephemeral" and answer["text"].startswith("Unlinked")
    assert not SlackIdentity.objects.exists()
    assert "/incident link" in slack(client, "declare Search is slow").json()["text"]
    assert "not linked" in slack(client, "unlink").json()["text"]


def test_unlink_from_the_slack_page(client, alice):
    mine = SlackIdentity.objects.get()
    other = SlackIdentity.objects.create(user=UserFactory(), team_id="T0001", slack_user_id="U0BOB")
    client.force_login(alice)
    assert client.post(f"/settings/slack/{other.pk}/unlink/").status_code == 404
    response = client.post(f"/settings/slack/{mine.pk}/unlink/")
    assert response.status_code == 302 and response.headers["Location"] == "/settings/slack/"
    assert list(SlackIdentity.objects.all()) == [other]
    assert "/incident link" in slack(client, "declare Search is slow").json()["text"]


def test_the_slack_page_is_for_signed_in_people_and_says_when_slack_is_off(client, iris, settings):
    assert client.get("/settings/slack/").status_code == 302
    assert client.post("/settings/slack/").status_code == 302 and not SlackLinkCode.objects.exists()
    client.force_login(iris)
    assert "not set up" not in text_of(client.get("/settings/slack/"))
    settings.SLACK_SIGNING_SECRET = ""
    assert "not set up" in text_of(client.get("/settings/slack/"))
    assert "/settings/slack/" in client.get("/settings/api-tokens/").content.decode()


# --- Restricted incidents ------------------------------------------------------------------------


@pytest.fixture
def restricted(db):
    return IncidentFactory(is_security=True, title="Leaked signing key")


def test_a_participant_gets_a_restricted_status_for_their_eyes_only(client, alice, restricted):
    Participation.objects.create(incident=restricted, user=alice)
    answer = slack(client, f"status {restricted.reference}").json()
    assert answer["response_type"] == "ephemeral"
    assert "Leaked signing key" in answer["text"] and "Roles:" in answer["text"]
    # Without a reference too (the one open incident alice can see).
    answer = slack(client, "status").json()
    assert answer["response_type"] == "ephemeral" and "Leaked signing key" in answer["text"]


def test_others_get_the_answer_for_an_incident_that_does_not_exist(client, alice, restricted):
    missing = restricted.number + 100
    for verb in ("status", "ic page", "note", "status stalk"):
        text = f"{verb} {restricted.reference}" + (" hello" if verb == "note" else "")
        answer = slack(client, text).json()
        nothing = slack(client, text.replace(restricted.reference, f"INC-{missing}")).json()
        assert answer["response_type"] == nothing["response_type"] == "ephemeral"
        assert answer["text"] == nothing["text"].replace(str(missing), str(restricted.number))
        assert "Leaked" not in answer["text"]
    assert restricted.timeline.count() == 1 and not SlackStalk.objects.exists()
    # Nor is it the incident "here" when no reference is given.
    assert "no open incident" in slack(client, "status").json()["text"]


def test_a_restricted_incidents_status_is_not_posted_to_a_channel(client, alice, restricted):
    from comms.models import Channel

    Channel.objects.create(
        name="#inc", slug="slack-c0incident", kind=Channel.Kind.SLACK, url="https://hooks.example.com/x"
    )
    Participation.objects.create(incident=restricted, user=alice)
    answer = slack(client, f"status stalk {restricted.reference}").json()
    assert answer["response_type"] == "ephemeral" and "restricted" in answer["text"]
    assert not SlackStalk.objects.exists()

    # An incident restricted after its stalk began: the next post does not go out, the stalk ends.
    ordinary = IncidentFactory(title="Checkout slow")
    slack(client, f"status stalk {ordinary.reference}")
    Incident.objects.filter(pk=ordinary.pk).update(is_security=True)
    assert slack_stalks_post() == 0
    assert SlackStalk.objects.get().stopped_at is not None

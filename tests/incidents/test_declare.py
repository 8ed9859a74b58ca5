"""Declaring an incident in the browser: the form, the major-incident question, bad input."""

import re

import pytest

from incidents.models import SEVERITY_DESCRIPTIONS, Incident, IncidentCounter, TimelineEntry
from tests.incidents.pages import text_of

URL = "/incidents/declare/"


def _nothing_written() -> bool:
    return (
        Incident.objects.count() == 0
        and TimelineEntry.objects.count() == 0
        and not IncidentCounter.objects.filter(last_number__gt=0).exists()
    )


def test_it_requires_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/accounts/login/?next={URL}"
    response = client.post(URL, {"title": "Checkout down", "severity": "3"})
    assert response.status_code == 302
    assert _nothing_written()


def test_it_shows_the_form_with_severity_descriptions(rclient):
    response = rclient.get(URL)
    assert response.status_code == 200
    content, page = response.content.decode(), text_of(response)
    assert "Declare an incident" in page
    assert 'name="title"' in content
    for severity in range(1, 6):
        assert re.search(f'name="severity"[^>]* value="{severity}"', content)
        # The description sits beside its level, so the declarer can pick without a manual.
        assert re.search(f"SEV-{severity}\\W{{0,4}}{re.escape(SEVERITY_DESCRIPTIONS[severity])}", page)
    assert "Would a rollback to the previous version fix this" in page
    assert 'name="is_security"' in content


def test_it_declares_and_opens_the_room(rclient, responder):
    response = rclient.post(URL, {"title": "[Outage]: Checkout fails", "severity": "3", "summary": "EU only"})

    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response.headers["Location"] == "/incidents/1/"
    assert (incident.number, incident.title, incident.severity) == (1, "[Outage]: Checkout fails", 3)
    assert incident.summary == "EU only"
    assert incident.declared_by == responder
    assert not incident.is_security
    room = rclient.get(response.headers["Location"])
    assert "[Outage]: Checkout fails" in room.content.decode()


def test_it_declares_a_security_incident(rclient):
    rclient.post(URL, {"title": "Token leak", "severity": "4", "is_security": "on"})
    assert Incident.objects.get().is_security


@pytest.mark.parametrize("severity", ["1", "2"])
def test_a_major_incident_needs_the_rollback_answer(rclient, severity):
    response = rclient.post(
        URL, {"title": "Checkout down", "severity": severity, "rollback_considered": "  "}
    )

    assert response.status_code == 400
    assert "answer the rollback question first" in text_of(response)
    assert _nothing_written()


def test_a_major_incident_keeps_the_rollback_answer(rclient):
    response = rclient.post(
        URL, {"title": "Checkout down", "severity": "1", "rollback_considered": "No, nothing deployed"}
    )
    assert response.status_code == 302
    incident = Incident.objects.get()
    assert incident.rollback_considered == "No, nothing deployed"
    assert "Would a rollback fix this? No, nothing deployed" in incident.timeline.get(kind="status").body


def test_a_minor_incident_does_not_need_the_rollback_answer(rclient):
    response = rclient.post(URL, {"title": "Search slow", "severity": "4"})
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"title": "", "severity": "3"}, "This field is required."),
        ({"title": "   ", "severity": "3"}, "This field is required."),
        ({"title": "x" * 201, "severity": "3"}, "Ensure this value has at most 200 characters (it has 201)."),
        ({"title": "Nul\x00byte", "severity": "3"}, "Null characters are not allowed."),
        ({"title": "Fine", "severity": ""}, "This field is required."),
        ({"title": "Fine", "severity": "9"}, "Select a valid choice. 9 is not one of the available choices."),
        ({"title": "Fine", "severity": "one"}, "Select a valid choice."),
        ({"title": "Fine", "severity": "3", "summary": "s" * 10001}, "at most 10000 characters"),
        (
            {"title": "Fine", "severity": "1", "rollback_considered": "r" * 2001},
            "at most 2000 characters",
        ),
    ],
)
def test_bad_input_is_a_form_error_and_writes_nothing(rclient, data, message):
    response = rclient.post(URL, data)

    assert response.status_code == 400
    assert message in text_of(response)
    assert 'role="alert"' in response.content.decode()
    assert _nothing_written()


def test_bad_input_keeps_what_was_typed(rclient):
    response = rclient.post(URL, {"title": "Checkout <down>", "severity": "2", "summary": "Since 09:40"})
    assert response.status_code == 400
    content = response.content.decode()
    assert 'value="Checkout &lt;down&gt;"' in content
    assert "Since 09:40</textarea>" in content
    assert re.search('value="2"[^>]* checked', content)

"""Adding, editing and striking timeline entries from the room: plain posts and htmx posts."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import TimelineEntry, TimelineEntryEdit
from tests.incidents.pages import oob_targets, text_of


def _rows(incident) -> tuple:
    incident.refresh_from_db()
    return incident.revision, TimelineEntry.objects.count(), TimelineEntryEdit.objects.count()


def _rev(incident) -> int:
    incident.refresh_from_db()
    return incident.revision


def _local(when) -> str:
    """What a datetime-local input sends."""
    return timezone.localtime(when).strftime("%Y-%m-%dT%H:%M")


# --- Add -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind", ["note", "finding", "action", "todo", "hypothesis", "decision", "verification"]
)
def test_a_plain_post_adds_an_entry(rclient, responder, incident, kind):
    response = rclient.post("/incidents/1/timeline/", {"kind": kind, "body": "Pool is *saturated*"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/incidents/1/"
    entry = incident.timeline.get(kind=kind)
    assert (entry.body, entry.author) == ("Pool is *saturated*", responder)
    assert "<em>saturated</em>" in rclient.get("/incidents/1/").content.decode()


def test_an_htmx_post_answers_with_a_fresh_form_and_the_new_entry(rclient, incident, hx):
    rev = _rev(incident)
    response = rclient.post(
        "/incidents/1/timeline/", {"kind": "finding", "body": "p95 12 s", "rev": rev}, headers=hx
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<form id="entry-form"')
    assert re.search(r'<textarea id="entry-body"[^>]*></textarea>', content), "the form is reset"
    targets = oob_targets(response)
    assert {"room-poller", "room-header", "afterbegin:#timeline-entries"} <= set(targets)
    # A note does not change what the controls offer, so they are left alone.
    assert "room-controls" not in targets
    entry = incident.timeline.get(kind="finding")
    new = content[content.index('hx-swap-oob="afterbegin:#timeline-entries"') :]
    assert f'<article id="entry-{entry.pk}"' in new
    assert f'value="{rev + 1}"' in content


def test_it_adds_a_backdated_entry(rclient, incident):
    when = timezone.now() - timedelta(hours=1)
    response = rclient.post(
        "/incidents/1/timeline/",
        {
            "kind": "action",
            "body": "Restarted pods",
            "occurred_at": _local(when),
            "backdate_reason": "call notes",
        },
    )
    assert response.status_code == 302
    entry = incident.timeline.get(kind="action")
    assert entry.occurred_at == when.replace(second=0, microsecond=0)
    assert entry.backdate_reason == "call notes"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "note", "body": ""}, "This field is required."),
        ({"kind": "note", "body": "   "}, "This field is required."),
        (
            {"kind": "note", "body": "x" * 20001},
            "Ensure this value has at most 20000 characters (it has 20001).",
        ),
        (
            {"kind": "status", "body": "Resolved!"},
            "Select a valid choice. status is not one of the available choices.",
        ),
        ({"kind": "alert", "body": "Fake alert"}, "Select a valid choice."),
        ({"body": "No kind"}, "This field is required."),
        ({"kind": "note", "body": "x", "occurred_at": "yesterday"}, "Enter a valid date/time."),
        ({"kind": "note", "body": "x", "backdate_reason": "r" * 301}, "at most 300 characters"),
    ],
)
def test_bad_input_is_a_422_with_the_reason_and_writes_nothing(rclient, incident, hx, data, message):
    before = _rows(incident)
    response = rclient.post("/incidents/1/timeline/", {**data, "rev": before[0]}, headers=hx)
    assert response.status_code == 422
    assert response.content.decode().lstrip().startswith('<form id="entry-form"')
    if "backdate_reason" not in data:
        assert message in text_of(response)
    assert _rows(incident) == before


def test_an_overlong_backdate_reason_says_why(rclient, incident, hx):
    response = rclient.post(
        "/incidents/1/timeline/",
        {"kind": "note", "body": "x", "backdate_reason": "r" * 301, "rev": 1},
        headers=hx,
    )
    assert "at most 300 characters" in text_of(response)


def test_a_future_entry_is_refused(rclient, incident, hx):
    before = _rows(incident)
    tomorrow = timezone.now() + timedelta(days=1)
    response = rclient.post(
        "/incidents/1/timeline/",
        {
            "kind": "note",
            "body": "x",
            "occurred_at": _local(tomorrow),
            "backdate_reason": "r",
            "rev": before[0],
        },
        headers=hx,
    )
    assert response.status_code == 422
    assert "An entry cannot happen in the future." in text_of(response)
    assert _rows(incident) == before


def test_a_backdated_entry_without_a_reason_is_refused(rclient, incident, hx):
    before = _rows(incident)
    earlier = timezone.now() - timedelta(hours=2)
    response = rclient.post(
        "/incidents/1/timeline/",
        {"kind": "note", "body": "Typed text", "occurred_at": _local(earlier), "rev": before[0]},
        headers=hx,
    )
    assert response.status_code == 422
    assert "Say why the entry is back-dated." in text_of(response)
    # What was typed is still there to fix, not lost.
    assert "Typed text</textarea>" in response.content.decode()
    assert _rows(incident) == before


def test_a_refused_plain_post_is_the_room_with_the_reason(rclient, incident):
    before = _rows(incident)
    response = rclient.post("/incidents/1/timeline/", {"kind": "note", "body": ""})
    assert response.status_code == 422
    assert "<html" in response.content.decode()
    assert "This field is required." in text_of(response)
    assert _rows(incident) == before


# --- Edit ----------------------------------------------------------------------------


@pytest.fixture
def note(responder, incident) -> TimelineEntry:
    return services.timeline_add(incident=incident, kind="note", body="DB looks fine", author=responder)


def _edit_url(entry) -> str:
    return f"/incidents/{entry.incident.number}/timeline/{entry.pk}/edit/"


def _strike_url(entry) -> str:
    return f"/incidents/{entry.incident.number}/timeline/{entry.pk}/strike/"


def test_the_author_edits_with_a_plain_post(rclient, note):
    response = rclient.post(_edit_url(note), {"body": "DB is **not** fine"})
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.body == "DB is **not** fine"
    assert note.edits.get().previous_body == "DB looks fine"


def test_the_author_edits_with_htmx(rclient, incident, note, hx):
    rev = _rev(incident)
    response = rclient.post(_edit_url(note), {"body": "DB is **not** fine", "rev": rev}, headers=hx)
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith(f'<article id="entry-{note.pk}"')
    assert "DB is <strong>not</strong> fine" in content
    assert "edited" in text_of(response)
    # The edited entry is the main answer: it must not come a second time out of band.
    assert f"entry-{note.pk}" not in oob_targets(response)
    assert content.count(f'id="entry-{note.pk}"') == 1
    assert "room-poller" in oob_targets(response)
    assert f'value="{rev + 1}"' in content


def test_someone_else_cannot_edit(client, outsider, incident, note, hx):
    client.force_login(outsider)
    before = _rows(incident)
    response = client.post(_edit_url(note), {"body": "Hijacked", "rev": before[0]}, headers=hx)
    assert response.status_code == 422
    assert response.content.decode().lstrip().startswith(f'<article id="entry-{note.pk}"')
    assert "Only the author can edit an entry." in text_of(response)
    assert "Hijacked" not in response.content.decode()
    note.refresh_from_db()
    assert note.body == "DB looks fine"
    assert _rows(incident) == before


@pytest.mark.parametrize(
    ("body", "message"),
    [("", "This field is required."), ("x" * 20001, "at most 20000 characters")],
)
def test_a_bad_edit_is_a_422_with_the_reason(rclient, incident, note, hx, body, message):
    before = _rows(incident)
    response = rclient.post(_edit_url(note), {"body": body, "rev": before[0]}, headers=hx)
    assert response.status_code == 422
    assert message in text_of(response)
    assert _rows(incident) == before


def test_a_bad_plain_edit_is_the_room_with_the_reason(rclient, incident, note):
    response = rclient.post(_edit_url(note), {"body": ""})
    assert response.status_code == 422
    assert "<html" in response.content.decode()
    assert "This field is required." in text_of(response)


def test_an_entry_the_portal_wrote_cannot_be_edited(rclient, incident, hx):
    declared = incident.timeline.get(kind="status")
    before = _rows(incident)
    response = rclient.post(_edit_url(declared), {"body": "Declared as SEV-5", "rev": before[0]}, headers=hx)
    assert response.status_code == 422
    assert "Entries written by the portal cannot be edited." in text_of(response)
    assert _rows(incident) == before


def test_an_entry_of_another_incident_is_a_404(rclient, responder, incident, note):
    other = services.incident_declare(title="Other", severity=4, declared_by=responder)
    before = _rows(incident)
    assert (
        rclient.post(f"/incidents/{other.number}/timeline/{note.pk}/edit/", {"body": "x"}).status_code == 404
    )
    assert (
        rclient.post(f"/incidents/{other.number}/timeline/{note.pk}/strike/", {"reason": "x"}).status_code
        == 404
    )
    assert rclient.post("/incidents/1/timeline/999999/edit/", {"body": "x"}).status_code == 404
    assert _rows(incident) == before


# --- Strike --------------------------------------------------------------------------


def test_the_author_strikes_with_a_plain_post(rclient, responder, note):
    response = rclient.post(_strike_url(note), {"reason": "Wrong incident"})
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.is_struck and note.struck_by == responder and note.strike_reason == "Wrong incident"


def test_the_author_strikes_with_htmx(rclient, incident, note, hx):
    response = rclient.post(
        _strike_url(note), {"reason": "Wrong incident", "rev": _rev(incident)}, headers=hx
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith(f'<article id="entry-{note.pk}"')
    assert "<del><p>DB looks fine</p></del>" in content
    assert "Struck through by Rita Responder: Wrong incident" in text_of(response)
    assert content.count(f'id="entry-{note.pk}"') == 1


@pytest.mark.parametrize("reason", ["", "   ", "r" * 301])
def test_a_strike_needs_a_reason(rclient, incident, note, hx, reason):
    before = _rows(incident)
    response = rclient.post(_strike_url(note), {"reason": reason, "rev": before[0]}, headers=hx)
    assert response.status_code == 422
    assert "Say why the entry is struck through." in text_of(response)
    note.refresh_from_db()
    assert not note.is_struck
    assert _rows(incident) == before


def test_an_entry_is_struck_once(rclient, responder, incident, note, hx):
    services.timeline_strike(entry=note, by=responder, reason="Wrong incident")
    before = _rows(incident)
    response = rclient.post(_strike_url(note), {"reason": "Again", "rev": before[0]}, headers=hx)
    assert response.status_code == 422
    assert "The entry is struck already." in text_of(response)
    assert _rows(incident) == before


@pytest.mark.parametrize("action", ["edit", "strike"])
def test_the_entry_endpoints_take_only_posts(rclient, note, action):
    assert rclient.get(f"/incidents/1/timeline/{note.pk}/{action}/").status_code == 405
    assert rclient.get("/incidents/1/timeline/").status_code == 405


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/incidents/1/timeline/", {"kind": "note", "body": "x"}),
        ("edit", {"body": "x"}),
        ("strike", {"reason": "x"}),
    ],
)
def test_it_requires_login(client, incident, note, path, data):
    if not path.startswith("/"):
        path = f"/incidents/1/timeline/{note.pk}/{path}/"
    before = _rows(incident)
    response = client.post(path, data)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts/login/")
    assert _rows(incident) == before

"""Timeline services: add, back-date, edit (keeping the old text), strike, participants."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache

from incidents import services
from incidents.models import Participation, TimelineEntry, TimelineEntryEdit
from incidents.services import IncidentError, room_revision_key
from tests.factories import UserFactory

Kind = TimelineEntry.Kind
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
PORTAL_KINDS = [kind for kind in Kind.values if kind not in TimelineEntry.WRITABLE_KINDS]


@pytest.fixture
def at_now():
    """The test runs at NOW, its fixtures too: the incident and the entry it changes are not
    written at the real clock, months after NOW (a year after in make test-future)."""
    with time_machine.travel(NOW, tick=False):
        yield


def _counts() -> tuple[int, int, int]:
    return TimelineEntry.objects.count(), TimelineEntryEdit.objects.count(), Participation.objects.count()


@pytest.mark.usefixtures("at_now")
@pytest.mark.parametrize("kind", TimelineEntry.WRITABLE_KINDS)
def test_it_adds_an_entry_of_a_writable_kind(responder, outsider, incident, kind):
    revision = incident.revision
    entry = services.timeline_add(incident=incident, kind=kind, body="  **Found** it  ", author=outsider)

    incident.refresh_from_db()
    entry.refresh_from_db()
    assert entry.kind == kind
    assert entry.body == "**Found** it"
    assert entry.body_html == "<p><strong>Found</strong> it</p>"
    assert entry.author == outsider
    assert entry.occurred_at == entry.recorded_at == NOW
    assert entry.backdate_reason == ""
    assert not entry.is_backdated
    assert incident.revision == revision + 1
    assert entry.revision == entry.revision_created == incident.revision
    # Writing in the room makes you a participant.
    assert outsider in incident.participants.all()


def test_it_refuses_the_kinds_the_portal_writes(responder, incident):
    assert set(PORTAL_KINDS) == {
        "status",
        "severity",
        "role",
        "page",
        "public_update",
        "alert",
        "proposal",
        "task",
        "eta",
        "customer",
    }
    before = _counts()
    for kind in PORTAL_KINDS:
        with pytest.raises(IncidentError, match="written by the portal, not by hand"):
            services.timeline_add(incident=incident, kind=kind, body="Sneaky", author=responder)
    assert _counts() == before


@pytest.mark.parametrize("body", ["", "   ", "\n\t"])
def test_it_refuses_an_empty_entry(responder, incident, body):
    before = _counts()
    revision = incident.revision
    with pytest.raises(IncidentError, match="An entry needs some text."):
        services.timeline_add(incident=incident, kind=Kind.NOTE, body=body, author=responder)
    incident.refresh_from_db()
    assert (_counts(), incident.revision) == (before, revision)


@pytest.mark.usefixtures("at_now")
def test_it_backdates_an_entry_with_a_reason(responder, incident):
    entry = services.timeline_add(
        incident=incident,
        kind=Kind.ACTION,
        body="Restarted the payments pods",
        author=responder,
        occurred_at=NOW - timedelta(minutes=30),
        backdate_reason="  From the call notes ",
    )
    entry.refresh_from_db()
    assert entry.occurred_at == NOW - timedelta(minutes=30)
    assert entry.recorded_at == NOW
    assert entry.backdate_reason == "From the call notes"
    assert entry.is_backdated


@pytest.mark.usefixtures("at_now")
@pytest.mark.parametrize("reason", ["", "   "])
def test_it_refuses_to_backdate_without_a_reason(responder, incident, reason):
    before = _counts()
    with pytest.raises(IncidentError, match="Say why the entry is back-dated."):
        services.timeline_add(
            incident=incident,
            kind=Kind.NOTE,
            body="Earlier",
            author=responder,
            occurred_at=NOW - timedelta(minutes=5),
            backdate_reason=reason,
        )
    assert _counts() == before


@pytest.mark.usefixtures("at_now")
def test_it_treats_a_time_within_a_minute_as_now(responder, incident):
    entry = services.timeline_add(
        incident=incident,
        kind=Kind.NOTE,
        body="Just now",
        author=responder,
        occurred_at=NOW - timedelta(seconds=30),
        backdate_reason="ignored",
    )
    assert entry.occurred_at == NOW
    assert entry.backdate_reason == ""


@pytest.mark.usefixtures("at_now")
def test_it_refuses_an_entry_in_the_future(responder, incident):
    before = _counts()
    with pytest.raises(IncidentError, match="cannot happen in the future"):
        services.timeline_add(
            incident=incident,
            kind=Kind.NOTE,
            body="Tomorrow",
            author=responder,
            occurred_at=NOW + timedelta(seconds=1),
            backdate_reason="time travel",
        )
    assert _counts() == before


# --- Edit ----------------------------------------------------------------------------


@pytest.fixture
def note(responder, incident):
    return services.timeline_add(incident=incident, kind=Kind.NOTE, body="DB is *fine*", author=responder)


@pytest.mark.usefixtures("at_now")
def test_it_edits_an_entry_and_keeps_the_previous_text(responder, incident, note):
    created = note.revision_created
    services.timeline_edit(entry=note, body="  DB is **not** fine  ", by=responder)

    note.refresh_from_db()
    incident.refresh_from_db()
    assert note.body == "DB is **not** fine"
    assert note.body_html == "<p>DB is <strong>not</strong> fine</p>"
    assert note.edited_at == NOW
    assert note.revision == incident.revision == created + 1
    # The room shows it as an edit of an old entry, not as a new one.
    assert note.revision_created == created
    edit = note.edits.get()
    assert edit.previous_body == "DB is *fine*"
    assert edit.edited_by == responder

    services.timeline_edit(entry=note, body="Third version", by=responder)
    assert list(note.edits.order_by("id").values_list("previous_body", flat=True)) == [
        "DB is *fine*",
        "DB is **not** fine",
    ]


def test_an_unchanged_edit_writes_nothing(responder, incident, note):
    incident.refresh_from_db()
    before = (_counts(), incident.revision)
    services.timeline_edit(entry=note, body="  DB is *fine* ", by=responder)
    incident.refresh_from_db()
    note.refresh_from_db()
    assert (_counts(), incident.revision) == before
    assert note.edited_at is None


def test_only_the_author_edits(incident, note, outsider):
    before = (_counts(), note.body)
    with pytest.raises(IncidentError, match="Only the author can edit an entry."):
        services.timeline_edit(entry=note, body="Rewritten by someone else", by=outsider)
    note.refresh_from_db()
    assert (_counts(), note.body) == before


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("portal", "Entries written by the portal cannot be edited."),
        ("struck", "A struck entry cannot be edited."),
        ("empty", "An entry needs some text; strike it through instead."),
    ],
)
def test_it_refuses_an_edit(responder, incident, note, setup, message):
    entry, body = note, "New text"
    if setup == "portal":
        entry = incident.timeline.get(kind=Kind.STATUS)
    elif setup == "struck":
        services.timeline_strike(entry=note, by=responder, reason="wrong incident")
    elif setup == "empty":
        body = "   "
    incident.refresh_from_db()
    before = (_counts(), incident.revision)
    with pytest.raises(IncidentError) as refused:
        services.timeline_edit(entry=entry, body=body, by=responder)
    assert str(refused.value) == message
    incident.refresh_from_db()
    assert (_counts(), incident.revision) == before


# --- Strike --------------------------------------------------------------------------


@pytest.mark.usefixtures("at_now")
def test_it_strikes_an_entry_through_and_keeps_it(responder, incident, note):
    services.timeline_strike(entry=note, by=responder, reason="  Wrong incident ")
    note.refresh_from_db()
    incident.refresh_from_db()
    assert note.is_struck
    assert note.struck_at == NOW
    assert note.struck_by == responder
    assert note.strike_reason == "Wrong incident"
    # Never deleted: the text is all there.
    assert note.body == "DB is *fine*"
    assert TimelineEntry.objects.filter(pk=note.pk).exists()
    assert note.revision == incident.revision
    assert note.revision_created < note.revision


@pytest.mark.parametrize("reason", ["", "  "])
def test_it_strikes_only_with_a_reason(responder, incident, note, reason):
    with pytest.raises(IncidentError, match="Say why the entry is struck through."):
        services.timeline_strike(entry=note, by=responder, reason=reason)
    note.refresh_from_db()
    assert not note.is_struck


def test_it_strikes_once(responder, incident, note):
    services.timeline_strike(entry=note, by=responder, reason="Wrong incident")
    incident.refresh_from_db()
    revision = incident.revision
    with pytest.raises(IncidentError, match="The entry is struck already."):
        services.timeline_strike(entry=note, by=responder, reason="Again")
    note.refresh_from_db()
    incident.refresh_from_db()
    assert (note.strike_reason, incident.revision) == ("Wrong incident", revision)


def test_it_does_not_strike_what_the_portal_wrote(responder, incident):
    declared = incident.timeline.get(kind=Kind.STATUS)
    with pytest.raises(IncidentError, match="Entries written by the portal cannot be struck."):
        services.timeline_strike(entry=declared, by=responder, reason="I do not like it")
    declared.refresh_from_db()
    assert not declared.is_struck


def test_only_the_author_or_staff_strikes_an_entry(responder, staff_user, incident, note):
    from tests.factories import UserFactory

    colleague = UserFactory()
    with pytest.raises(IncidentError, match="Only the author can strike an entry through."):
        services.timeline_strike(entry=note, by=colleague, reason="Not mine to keep")
    note.refresh_from_db()
    assert not note.is_struck

    services.timeline_strike(entry=note, by=staff_user, reason="Posted in the wrong incident")
    note.refresh_from_db()
    assert note.struck_by == staff_user


# --- Participants and portal-written entries ------------------------------------------


def test_it_adds_a_participant(responder, outsider, security_incident):
    from incidents.selectors import incidents_visible_to

    assert not incidents_visible_to(outsider).filter(pk=security_incident.pk).exists()
    revision = security_incident.revision
    services.participant_add(incident=security_incident, user=outsider, by=responder)
    security_incident.refresh_from_db()
    assert security_incident.revision == revision + 1
    entry = security_incident.timeline.get(revision=security_incident.revision)
    assert entry.kind == Kind.NOTE
    assert entry.body == "Otto Outsider was added as a participant."
    assert entry.data == {"participant": outsider.pk}
    assert entry.author == responder
    assert incidents_visible_to(outsider).filter(pk=security_incident.pk).exists()


def test_it_refuses_a_participant_twice_or_inactive(responder, incident):
    idle = UserFactory(is_active=False, username="idle", first_name="", last_name="")
    before = _counts()
    with pytest.raises(IncidentError, match="is a participant already."):
        services.participant_add(incident=incident, user=responder, by=responder)
    with pytest.raises(IncidentError, match="idle is not an active user."):
        services.participant_add(incident=incident, user=idle, by=responder)
    assert _counts() == before


def test_it_records_a_portal_entry_for_other_apps(responder, incident):
    revision = incident.revision
    entry = services.timeline_record(
        incident=incident, kind=Kind.PAGE, body="Paged the database on-call", author=None, data={"to": "db"}
    )
    incident.refresh_from_db()
    assert (entry.kind, entry.author, entry.data) == (Kind.PAGE, None, {"to": "db"})
    assert entry.revision == entry.revision_created == incident.revision == revision + 1


def test_it_edits_the_details_with_a_timeline_note(responder, incident):
    revision = incident.revision
    services.incident_edit_details(incident=incident, by=responder, title="  Checkout down  ", summary="New")
    incident.refresh_from_db()
    assert (incident.title, incident.summary, incident.revision) == ("Checkout down", "New", revision + 1)
    entry = incident.timeline.get(revision=incident.revision)
    assert entry.body == "Title changed from “[Outage]: Checkout fails” to “Checkout down”. Summary updated."

    before = _counts()
    services.incident_edit_details(incident=incident, by=responder, title="Checkout down", summary="New")
    with pytest.raises(IncidentError, match="An incident needs a title."):
        services.incident_edit_details(incident=incident, by=responder, title=" ", summary="")
    incident.refresh_from_db()
    assert (_counts(), incident.revision) == (before, revision + 1)


def test_every_change_publishes_the_revision_on_commit(
    responder, incident, django_capture_on_commit_callbacks
):
    cache.delete(room_revision_key(incident.pk))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.timeline_add(incident=incident, kind=Kind.NOTE, body="Hello", author=responder)
    assert len(callbacks) == 1
    incident.refresh_from_db()
    assert cache.get(room_revision_key(incident.pk)) == (incident.revision, False)


def test_a_refused_change_publishes_nothing(responder, incident, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(IncidentError):
        services.incident_change_status(incident=incident, status="triage", by=responder)
    assert callbacks == []

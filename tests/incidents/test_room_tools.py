"""The response tools in the room: each form, its refusals, what another browser's poll brings."""

import re

import pytest
from django.conf import settings

from incidents import services
from incidents.models import Change, Decision, Hypothesis, Verification
from incidents.services import tools
from tests.factories import IncidentFactory, UserFactory
from tests.incidents.pages import oob_targets, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def sev1(responder):
    return services.incident_declare(title="[Outage]: checkout", severity=1, declared_by=responder)


def _rev(incident) -> int:
    incident.refresh_from_db()
    return incident.revision


def _post(client, incident, path, data, hx=None):
    return client.post(
        f"/incidents/{incident.number}/{path}", {"rev": _rev(incident), **data}, headers=hx or {}
    )


def test_the_room_shows_the_four_tools_and_the_open_rollback_question(rclient, sev1):
    html = rclient.get(sev1.get_absolute_url()).content.decode()
    for heading in ("Hypotheses", "Decisions", "Changes in place", "Verification"):
        assert f"<h2>{heading}" in html
    assert "Rollback question." in html
    assert 'action="/incidents/1/rollback/"' in html


def test_answering_the_rollback_question_removes_it(rclient, sev1, hx):
    response = _post(rclient, sev1, "rollback/", {"answer": "No: the migration ran"}, hx)
    assert response.status_code == 200
    assert 'id="room-header-forms"' in response.content.decode()
    assert "Rollback question." not in response.content.decode()
    sev1.refresh_from_db()
    assert sev1.rollback_considered == "No: the migration ran" and not sev1.rollback_question_open


def test_an_empty_answer_is_refused_in_place(rclient, sev1, hx):
    entries = sev1.timeline.count()
    response = _post(rclient, sev1, "rollback/", {"answer": "  "}, hx)
    assert response.status_code == 422
    assert sev1.timeline.count() == entries


def test_a_hypothesis_is_raised_and_ruled_out_from_the_room(rclient, sev1, hx):
    response = _post(rclient, sev1, "hypotheses/", {"statement": "The database"}, hx)
    assert response.status_code == 200
    panel = response.content.decode().split('id="room-poller"')[0]
    assert "The database" in text_of(panel) and "1 open" in panel
    hypothesis = Hypothesis.objects.get()
    response = _post(
        rclient,
        sev1,
        f"hypotheses/{hypothesis.pk}/decide/",
        {"state": "ruled_out", "evidence": "logs are clean"},
        hx,
    )
    assert response.status_code == 200
    hypothesis.refresh_from_db()
    assert hypothesis.state == "ruled_out"
    assert "logs are clean" in response.content.decode()


def test_a_verdict_without_evidence_is_a_422_and_changes_nothing(rclient, sev1, hx):
    hypothesis = tools.hypothesis_raise(incident=sev1, by=None, statement="DNS")
    response = _post(rclient, sev1, f"hypotheses/{hypothesis.pk}/decide/", {"state": "confirmed"}, hx)
    assert response.status_code == 422
    assert "Say what decided it" in response.content.decode()
    hypothesis.refresh_from_db()
    assert hypothesis.is_open


def test_a_decision_citing_a_hypothesis(rclient, sev1):
    hypothesis = tools.hypothesis_raise(incident=sev1, by=None, statement="Pool")
    response = _post(
        rclient,
        sev1,
        "decisions/",
        {
            "kind": "rollback",
            "summary": "Back to 4.1",
            "reason": "4.2 began it",
            "rollback_to": "4.1.9",
            "hypothesis": hypothesis.pk,
        },
    )
    assert response.status_code == 302
    decision = Decision.objects.get()
    assert (decision.kind, decision.hypothesis, decision.rollback_to) == ("rollback", hypothesis, "4.1.9")


def test_a_change_then_its_restore_from_the_room(rclient, sev1, hx):
    response = _post(
        rclient,
        sev1,
        "changes/",
        {"what": "DB_POOL_SIZE", "where": "env", "old_value": "20", "new_value": "80"},
        hx,
    )
    assert response.status_code == 200
    change = Change.objects.get()
    panel = response.content.decode()
    panel = panel[panel.index('id="room-tools"') : panel.index('id="room-poller"')]
    assert "<strong>DB_POOL_SIZE</strong>" in panel  # the panel that answers lists it
    response = _post(rclient, sev1, f"changes/{change.pk}/restore/", {}, hx)
    assert response.status_code == 200
    change.refresh_from_db()
    assert change.state == "reverted"
    assert "No change is in place." in response.content.decode()


def test_a_sensitive_change_is_masked_in_another_person_s_room(client, rclient, sev1, responder):
    tools.change_record(
        incident=sev1,
        by=responder,
        what="API key",
        where="payments",
        old_value="sk_old",
        new_value="sk_new",
        is_sensitive=True,
    )
    assert "sk_old" in rclient.get(sev1.get_absolute_url()).content.decode()  # the person who recorded it
    colleague = UserFactory()
    client.force_login(colleague)
    html = client.get(sev1.get_absolute_url()).content.decode()
    assert "sk_old" not in html and "sk_new" not in html
    assert "sensitive" in html


def test_resolving_with_a_change_in_place_asks_keep_or_restore_in_the_controls(rclient, sev1, responder, hx):
    tools.rollback_question_answer(incident=sev1, by=responder, answer="No")
    change = tools.change_record(incident=sev1, by=responder, what="flag", where="LD", new_value="off")
    tools.verification_record(incident=sev1, by=responder, checked="Checkout works")
    asked = _post(rclient, sev1, "status/", {"status": "resolved", "note": "All good"}, hx)
    assert asked.status_code == 422
    html = asked.content.decode()
    assert f'name="settle_{change.pk}"' in html and "keep or restore each change" in html.lower()
    assert 'name="note" value="All good"' in html
    sev1.refresh_from_db()
    assert sev1.status == "triage"
    done = _post(
        rclient,
        sev1,
        "status/",
        {"status": "resolved", "note": "All good", f"settle_{change.pk}": "keep"},
        hx,
    )
    assert done.status_code == 200
    sev1.refresh_from_db()
    change.refresh_from_db()
    assert (sev1.status, change.state) == ("resolved", "kept")


def test_a_verification_and_another_browser_sees_the_tools_change(rclient, client, sev1, responder):
    seen = _rev(sev1)
    response = _post(
        rclient, sev1, "verifications/", {"checked": "Checkout from 3 regions", "result": "passed"}
    )
    assert response.status_code == 302 and Verification.objects.get().result == "passed"
    colleague = UserFactory()
    client.force_login(colleague)
    poll = client.get(f"/incidents/{sev1.number}/poll/", {"id": sev1.pk, "rev": seen})
    assert "room-tools" in oob_targets(poll)
    assert "Checkout from 3 regions" in poll.content.decode()


def test_where_to_join_and_the_details_are_edited_in_the_room(rclient, sev1, hx):
    forms = rclient.get(f"/incidents/{sev1.number}/details/", headers=hx)
    assert forms.status_code == 200 and 'name="bridge_url"' in forms.content.decode()
    response = _post(
        rclient, sev1, "contacts/", {"bridge_url": "https://meet.example.com/inc", "chat_channel": "#inc"}, hx
    )
    assert response.status_code == 200
    html = rclient.get(sev1.get_absolute_url()).content.decode()
    assert 'href="https://meet.example.com/inc"' in html and "#inc" in html
    response = _post(rclient, sev1, "details/", {"title": "[Outage]: checkout EU", "summary": "EU only"}, hx)
    assert response.status_code == 200
    sev1.refresh_from_db()
    assert sev1.title == "[Outage]: checkout EU"
    entry = sev1.timeline.order_by("-pk").first()
    assert entry.data["previous"]["title"] == "[Outage]: checkout"


def test_the_board_lists_open_hypotheses_first_and_counts_them_all_past_its_limit(rclient, sev1, admin_user):
    from datetime import timedelta

    from django.utils import timezone

    from incidents.selectors import TOOLS_LIST_LIMIT

    early = timezone.now() - timedelta(hours=1)
    # Decided ones raised before any open one: "open first" is not the order they were raised in.
    Hypothesis.objects.bulk_create(
        Hypothesis(
            incident=sev1,
            statement=f"decided {i}",
            state="ruled_out",
            raised_at=early,
            decided_at=early,
            decided_by=admin_user,
            evidence="checked",
        )
        for i in range(5)
    )
    Hypothesis.objects.bulk_create(
        Hypothesis(incident=sev1, statement=f"open {i:02}", state="open")
        for i in range(TOOLS_LIST_LIMIT + 10)
    )
    html = rclient.get(sev1.get_absolute_url()).content.decode()
    board = html.split('id="tool-hypotheses"', 1)[1].split("</ul>", 1)[0]
    assert 'Hypotheses <span class="count">60 open</span>' in board
    states = re.findall(r'<li class="hypothesis state-(\w+)">', board)
    assert states == ["open"] * TOOLS_LIST_LIMIT
    assert "And 15 more (the API lists them all)." in text_of(board)
    # With fewer than the limit, the decided ones follow the open ones.
    Hypothesis.objects.filter(statement__startswith="open ").exclude(statement="open 00").delete()
    board = rclient.get(sev1.get_absolute_url()).content.decode().split('id="tool-hypotheses"', 1)[1]
    board = board.split("</ul>", 1)[0]
    assert re.findall(r'<li class="hypothesis state-(\w+)">', board) == ["open"] + ["ruled_out"] * 5
    assert 'Hypotheses <span class="count">1 open</span>' in board


def test_where_to_join_links_the_status_page_once_something_is_published(rclient, sev1, admin_user, dev_page):
    from comms.models import Message
    from roles.services import page_send
    from statuspage.models import PublicIncident
    from statuspage.services.updates import statuspage_publish_update

    tools.incident_set_contacts(incident=sev1, by=admin_user, bridge_url="https://meet.example.com/inc")
    header = _join_block(rclient.get(sev1.get_absolute_url()).content.decode())
    assert "Status page" not in header and "/status/" not in header
    sev1.refresh_from_db()
    assert "status page" not in sev1.join_text() and sev1.join_document()["status_page"] == ""

    statuspage_publish_update(
        incident=sev1, by=admin_user, title="Checkout is down", status="investigating", body="Looking in."
    )
    link = f"{settings.SITE_URL}/status/incidents/{PublicIncident.objects.get().public_id}"
    header = _join_block(rclient.get(sev1.get_absolute_url()).content.decode())
    assert f'href="{link}"' in header and ">Status page</a>" in header
    sev1.refresh_from_db()
    assert sev1.join_text() == f"**Where to join:** call: https://meet.example.com/inc · status page: {link}"
    assert sev1.join_document()["status_page"] == link
    # And every message about the incident carries it ("join the call", and where customers read).
    page_send(incident=sev1, by=admin_user, person=dev_page)
    message = Message.objects.filter(kind="page").latest("pk")
    assert f"status page: {link}" in message.body and message.context["join"]["status_page"] == link


def test_the_status_page_link_alone_is_where_to_join(rclient, sev1, admin_user):
    from statuspage.services.updates import statuspage_publish_update

    statuspage_publish_update(
        incident=sev1, by=admin_user, title="Checkout is down", status="investigating", body="Looking in."
    )
    header = _join_block(rclient.get(sev1.get_absolute_url()).content.decode())
    assert "No call or chat yet" not in header and ">Status page</a>" in header


@pytest.fixture
def dev_page(db):
    return UserFactory(username="dev-on-call", email="dev@example.com")


def _join_block(html: str) -> str:
    return html.split('<div class="join">', 1)[1].split("</div>", 1)[0]


def test_the_affected_components_are_edited_in_the_room_and_keep_the_previous_ones(rclient, sev1, hx):
    from statuspage.models import Component

    group = Component.objects.create(name="Payments", is_group=True)
    checkout = Component.objects.create(name="Checkout", group=group)
    api = Component.objects.create(name="Public API")
    forms = rclient.get(f"/incidents/{sev1.number}/details/", headers=hx).content.decode()
    offered = re.search(r'<select name="components".*?</select>', forms, flags=re.DOTALL).group(0)
    assert ">Checkout</option>" in offered and ">Public API</option>" in offered
    assert ">Payments</option>" not in offered  # a group is not a component one picks

    details = {"title": sev1.title, "summary": ""}
    response = _post(rclient, sev1, "details/", {**details, "components": [checkout.pk, api.pk]}, hx)
    assert response.status_code == 200
    assert set(sev1.components.all()) == {checkout, api}
    entry = sev1.timeline.order_by("-pk").first()
    assert entry.body == "Affected components: Checkout, Public API (was: none)."
    assert entry.data["details"]["components"] == [checkout.pk, api.pk]
    assert entry.data["previous"]["components"] == []

    response = _post(rclient, sev1, "details/", {**details, "components": [api.pk]}, hx)
    assert response.status_code == 200
    assert list(sev1.components.all()) == [api]
    entry = sev1.timeline.order_by("-pk").first()
    assert entry.data["previous"]["components"] == [checkout.pk, api.pk]
    assert entry.body == "Affected components: Public API (was: Checkout, Public API)."
    # The edit form shows what is chosen now.
    forms = rclient.get(f"/incidents/{sev1.number}/details/", headers=hx).content.decode()
    assert f'<option value="{api.pk}" selected>' in forms and f'<option value="{checkout.pk}" >' in forms

    before = (sev1.timeline.count(), _rev(sev1))
    for bad, reason in (
        ([api.pk, 999999], "Select a valid choice. 999999 is not one of the available choices."),
        ([group.pk], f"Select a valid choice. {group.pk} is not one of the available choices."),
        (["checkout"], "“checkout” is not a valid value."),
    ):
        response = _post(rclient, sev1, "details/", {**details, "title": "Renamed", "components": bad}, hx)
        assert response.status_code == 422, bad
        assert reason in text_of(response)
        sev1.refresh_from_db()
        assert sev1.title != "Renamed" and list(sev1.components.all()) == [api]
        assert (sev1.timeline.count(), sev1.revision) == before


def test_a_bad_bridge_link_is_refused_with_its_reason(rclient, sev1, hx):
    response = _post(rclient, sev1, "contacts/", {"bridge_url": "javascript:alert(1)"}, hx)
    assert response.status_code == 422
    assert "http(s) URL" in response.content.decode()
    sev1.refresh_from_db()
    assert sev1.bridge_url == ""


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("hypotheses/", {"statement": "x"}),
        ("decisions/", {"kind": "fix", "summary": "x", "reason": "y"}),
        ("changes/", {"what": "x", "where": "y", "new_value": "z"}),
        ("verifications/", {"checked": "x"}),
        ("rollback/", {"answer": "no"}),
        ("contacts/", {"chat_channel": "#x"}),
        ("details/", {"title": "x"}),
    ],
)
def test_an_outsider_cannot_touch_a_restricted_incident_s_tools(client, outsider, path, data):
    secret = IncidentFactory(is_security=True, severity=1)
    client.force_login(outsider)
    assert client.post(f"/incidents/{secret.number}/{path}", data).status_code == 404
    assert not (Hypothesis.objects.exists() or Decision.objects.exists() or Change.objects.exists())
    assert client.get(f"/incidents/{secret.number}/details/").status_code == 404


@pytest.fixture
def secret_records(db):
    """A restricted incident with one of each record its transitions act on, written by the portal."""
    secret = IncidentFactory(is_security=True, severity=1)
    hypothesis = tools.hypothesis_raise(incident=secret, by=None, statement="The database")
    decision = tools.decision_record(incident=secret, by=None, kind="fix", summary="Fix it", reason="y")
    change = tools.change_record(incident=secret, by=None, what="pool", where="db", new_value="80")
    return secret, hypothesis, decision, change


def _record_states(secret) -> tuple:
    secret.refresh_from_db()
    return (
        secret.revision,
        secret.rollback_considered,
        list(Hypothesis.objects.values_list("state", flat=True)),
        list(Decision.objects.values_list("state", flat=True)),
        sorted(Change.objects.values_list("state", flat=True)),
        Verification.objects.count(),
        secret.timeline.count(),
    )


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("hypotheses/{hypothesis}/decide/", {"state": "ruled_out", "evidence": "logs"}),
        ("decisions/{decision}/close/", {"state": "done"}),
        ("changes/{change}/restore/", {}),
        ("changes/{change}/keep/", {}),
        ("verifications/", {"checked": "checkout works", "result": "passed"}),
        ("rollback/", {"answer": "no"}),
    ],
)
def test_an_outsider_cannot_move_a_restricted_incident_s_records(
    client, outsider, secret_records, path, data
):
    secret, hypothesis, decision, change = secret_records
    before = _record_states(secret)
    client.force_login(outsider)
    url = f"/incidents/{secret.number}/" + path.format(
        hypothesis=hypothesis.pk, decision=decision.pk, change=change.pk
    )
    response = client.post(url, data)
    assert response.status_code == 404
    assert "The database" not in response.content.decode()
    assert _record_states(secret) == before


@pytest.fixture
def commanded(sev1, responder):
    """sev1 with an Incident Commander who is not the responder, and one record of each kind."""
    from roles.models import IncidentRole, RoleAssignment

    commander = UserFactory(username="ic")
    RoleAssignment.objects.create(incident=sev1, role=IncidentRole.INCIDENT_COMMANDER, user=commander)
    decision = tools.decision_record(incident=sev1, by=commander, kind="fix", summary="Fix it", reason="y")
    change = tools.change_record(incident=sev1, by=responder, what="pool", where="db", new_value="80")
    return sev1, commander, decision, change


def test_while_an_ic_is_assigned_others_work_the_tools_but_do_not_decide(rclient, commanded, hx):
    incident, commander, decision, change = commanded
    html = rclient.get(incident.get_absolute_url()).content.decode()
    # What is the IC's is not offered: closing a decision, keeping a change, the rollback answer.
    assert f"/decisions/{decision.pk}/close/" not in html and f"/changes/{change.pk}/keep/" not in html
    assert 'action="/incidents/1/rollback/"' not in html
    assert "The Incident Commander or the deputy answers it." in html
    before = _record_states(incident)
    for path, data in (
        (f"decisions/{decision.pk}/close/", {"state": "done"}),
        (f"changes/{change.pk}/keep/", {}),
        ("rollback/", {"answer": "Yes, roll back"}),
    ):
        response = _post(rclient, incident, path, data, hx)
        assert response.status_code == 422
        assert "The Incident Commander or the deputy decides this" in text_of(response)
        # No proposal asks for these: the refusal does not send them to propose one.
        assert "propose it instead" not in text_of(response) and "ask them in the room" in text_of(response)
    assert _record_states(incident) == before
    # What anyone working the incident does, the responder still does.
    hypothesis = tools.hypothesis_raise(incident=incident, by=commander, statement="The database")
    for path, data in (
        (f"hypotheses/{hypothesis.pk}/decide/", {"state": "ruled_out", "evidence": "logs"}),
        (f"changes/{change.pk}/restore/", {}),
        ("verifications/", {"checked": "checkout works", "result": "passed"}),
    ):
        assert _post(rclient, incident, path, data, hx).status_code == 200
    hypothesis.refresh_from_db()
    change.refresh_from_db()
    assert hypothesis.state == "ruled_out" and change.state == "reverted"
    assert Verification.objects.count() == 1
    # And the IC decides.
    rclient.force_login(commander)
    closed = _post(rclient, incident, f"decisions/{decision.pk}/close/", {"state": "done"}, hx)
    assert closed.status_code == 200
    assert _post(rclient, incident, "rollback/", {"answer": "No: data moved"}, hx).status_code == 200
    decision.refresh_from_db()
    incident.refresh_from_db()
    assert decision.state == "done" and incident.rollback_considered == "No: data moved"


def test_the_entry_form_offers_the_plain_kinds_only(rclient, sev1):
    html = rclient.get(sev1.get_absolute_url()).content.decode()
    form = html[html.index('id="entry-form"') :]
    form = form[: form.index("</form>")]
    assert 'value="note"' in form and 'value="todo"' in form
    assert 'value="hypothesis"' not in form and 'value="change"' not in form

"""Command and control in real Chromium browsers: the IC decides, others propose; tasks, workstreams;
becoming major; who takes part in a security incident."""

import pytest

from comms.models import Message
from incidents.models import Incident, Participation
from incidents.services import incident_declare
from roles.models import IncidentRole, Page, Proposal, Schedule, Task, Team
from roles.services import role_assign
from tests.api.conftest import TokenClient
from tests.factories import IncidentFactory, UserFactory, trained_commander
from tests.roles.conftest import rotation

pytestmark = [pytest.mark.browser, pytest.mark.realclock, pytest.mark.django_db(transaction=True)]

SEEN = 8_000


def _staffed(severity: int = 2):
    ic = trained_commander(UserFactory(first_name="Iris", last_name="Commander"))
    sme = UserFactory(first_name="Sasha", last_name="Expert")
    incident = incident_declare(
        title="[Outage]: Checkout", severity=severity, declared_by=ic, rollback_considered="No"
    )
    role_assign(incident=incident, role=IncidentRole.INCIDENT_COMMANDER, user=ic, by=ic)
    role_assign(incident=incident, role=IncidentRole.SUBJECT_MATTER_EXPERT, user=sme, by=ic)
    return incident, ic, sme


def test_an_sme_proposes_and_the_ic_approves_one_and_rejects_the_other(page_for, live_server):
    incident, ic, sme = _staffed()
    url = live_server.url + incident.get_absolute_url()
    expert, commander = page_for(sme), page_for(ic)
    expert.goto(url)
    commander.goto(url)

    # The SME has no severity control, only a proposal; the API refuses the direct change too.
    assert expert.locator("#severity-select").count() == 0
    api = TokenClient(sme)
    refused = api.post(f"/api/v1/incidents/{incident.pk}/severity/", {"severity": 1}, format="json")
    assert refused.status_code == 403 and "propose" in refused.json()["detail"]

    def propose(action_label: str, fill) -> None:
        expert.click("#room-command details.propose summary")
        expert.click(f"#room-command details.propose label.chip:has-text('{action_label}')")
        fill()
        expert.fill("#room-command details.propose textarea[name=reason]", f"Because of {action_label}")
        expert.click("#room-command details.propose button[type=submit]")
        expert.locator("#room-command .proposal", has_text=f"Because of {action_label}").wait_for()

    propose("Severity", lambda: expert.select_option("#room-command select[name=severity]", "1"))
    propose(
        "Repair decision",
        lambda: (
            expert.select_option("#room-command select[name=kind]", "rollback"),
            expert.fill("#room-command input[name=summary]", "Roll back release 4.2"),
            expert.fill("#room-command input[name=rollback_to]", "4.1.9"),
        ),
    )

    # Both wait at the top of the IC's room, without a reload.
    commander.locator("#room-command .proposal", has_text="Because of Repair decision").wait_for(timeout=SEEN)
    severity = commander.locator("#room-command .proposal", has_text="Because of Severity")
    severity.locator("button:has-text('Approve')").click()
    commander.locator("#room-header .badge-sev", has_text="SEV-1").wait_for(timeout=SEEN)
    rollback = commander.locator("#room-command .proposal", has_text="Because of Repair decision")
    rollback.locator("input[name=answer]").fill("The migration cannot be undone")
    rollback.locator("button:has-text('Reject')").click()
    commander.locator("#room-command .proposal").first.wait_for(state="detached", timeout=SEEN)

    incident.refresh_from_db()
    assert incident.severity == 1
    states = dict(Proposal.objects.values_list("action", "state"))
    assert states == {"severity": "approved", "decision": "rejected"}
    assert not incident.decisions.exists()
    expert.locator("#room-header .badge-sev", has_text="SEV-1").wait_for(timeout=SEEN)


def test_raising_to_sev1_pages_the_on_call_ic_once_and_tells_the_stakeholders(page_for, live_server):
    on_call = UserFactory(first_name="Olga", last_name="Oncall")
    rotation(Schedule.objects.create(name="IC", role=IncidentRole.INCIDENT_COMMANDER), [on_call])
    boss = UserFactory(first_name="Bea", last_name="Boss")
    Team.objects.create(name="SEV-1 Stakeholders", stakeholder_for=[1]).members.add(boss)
    responder = UserFactory()
    incident = IncidentFactory(severity=3, declared_by=responder)
    page = page_for(responder)
    page.goto(live_server.url + incident.get_absolute_url())
    page.select_option("#severity-select", "1")
    page.click("#room-controls form[action$='/severity/'] button[type=submit]")
    page.locator("#room-header .badge-sev", has_text="SEV-1").wait_for()
    page.locator("#timeline-entries .entry", has_text="Now a major incident").wait_for(timeout=SEEN)
    page.wait_for_timeout(2_500)  # polls and the answer racing must not page twice
    assert Page.objects.filter(incident=incident, target=Page.Target.INCIDENT_COMMANDER).count() == 1
    assert {
        d.user for d in Message.objects.get(dedup_key__startswith="major:stakeholders:").deliveries.all()
    } == {boss}


def test_the_ic_assigns_a_task_and_the_assignee_sees_it_on_the_dashboard(page_for, live_server):
    incident, ic, sme = _staffed()
    commander = page_for(ic)
    commander.goto(live_server.url + incident.get_absolute_url())
    commander.click("#room-command .tasks summary")
    commander.fill("#room-command .tasks input[name=title]", "Check the pool metrics")
    commander.select_option("#room-command .tasks select[name=assignee]", str(sme.pk))
    commander.click("#room-command .tasks button[type=submit]")
    commander.locator("#room-command .task", has_text="Check the pool metrics").wait_for()
    assert Task.objects.get().assignee == sme

    expert = page_for(sme)
    expert.goto(live_server.url + "/")
    expert.locator(".my-work", has_text="Check the pool metrics").wait_for()


def test_a_workstream_lead_runs_its_own_tasks(page_for, live_server):
    incident, ic, sme = _staffed()
    member = UserFactory(first_name="Mo", last_name="Member")
    Participation.objects.create(incident=incident, user=member)
    commander = page_for(ic)
    commander.goto(live_server.url + incident.get_absolute_url())
    commander.click("#room-command .workstream-add summary")
    commander.fill("#room-command .workstream-add input[name=name]", "Database")
    commander.fill("#room-command .workstream-add input[name=goal]", "Find the slow query")
    commander.select_option("#room-command .workstream-add select[name=lead]", str(sme.pk))
    commander.select_option("#room-command .workstream-add select[name=members]", [str(member.pk)])
    commander.click("#room-command .workstream-add button[type=submit]")
    commander.locator("#room-command .workstream h2", has_text="Database").wait_for()

    # The lead (an SME, not the IC) assigns inside the workstream and moves the task.
    lead = page_for(sme)
    lead.goto(live_server.url + incident.get_absolute_url())
    lead.click("#room-command .tasks summary")
    lead.fill("#room-command .tasks input[name=title]", "EXPLAIN the top query")
    lead.select_option("#room-command .tasks select[name=assignee]", str(member.pk))
    lead.select_option("#room-command .tasks select[name=workstream]", label="Database")
    lead.click("#room-command .tasks button[type=submit]")
    task = lead.locator("#room-command .task", has_text="EXPLAIN the top query")
    task.wait_for()
    task.locator("button:has-text('Start')").click()
    lead.locator("#room-command .task.state-doing", has_text="EXPLAIN").wait_for()
    commander.locator("#room-command .task.state-doing", has_text="EXPLAIN").wait_for(timeout=SEEN)
    assert Task.objects.get().workstream.lead == sme


def test_an_outsider_added_to_a_security_incident_sees_it_and_stops_when_removed(page_for, live_server):
    ic = trained_commander(UserFactory(first_name="Iris", last_name="Commander"))
    outsider = UserFactory(first_name="Otto", last_name="Outsider")
    secret = incident_declare(
        title="Signing key leaked", severity=2, declared_by=ic, is_security=True, rollback_considered="No"
    )
    role_assign(incident=secret, role=IncidentRole.INCIDENT_COMMANDER, user=ic, by=ic)
    url = live_server.url + secret.get_absolute_url()
    otto = page_for(outsider)
    assert otto.goto(url).status == 404
    otto.goto(live_server.url + "/incidents/")
    assert "Signing key leaked" not in otto.content()

    commander = page_for(ic)
    commander.goto(url)
    add = commander.locator("#room-command .participants form[action$='/participants/add/']")
    add.locator("select[name=person]").select_option(str(outsider.pk))
    add.locator("input[name=reason]").fill("Owns the signing service")
    add.locator("button[type=submit]").click()
    commander.locator("#room-command .participants li", has_text="Otto Outsider").wait_for()

    assert otto.goto(url).status == 200
    otto.goto(live_server.url + "/incidents/")
    assert "Signing key leaked" in otto.content()
    api = TokenClient(outsider)
    assert api.get(f"/api/v1/incidents/{secret.pk}/").status_code == 200

    removal = commander.locator("#room-command .participants li", has_text="Otto Outsider")
    removal.locator("input[name=reason]").fill("Keys rotated; no longer needed")
    removal.locator("button:has-text('Remove')").click()
    removal.wait_for(state="detached", timeout=SEEN)

    assert otto.goto(url).status == 404
    otto.goto(live_server.url + "/incidents/")
    assert "Signing key leaked" not in otto.content()
    assert api.get(f"/api/v1/incidents/{secret.pk}/").status_code == 404
    assert api.get("/api/v1/incidents/").json()["count"] == 0
    assert not Incident.objects.filter(pk=secret.pk, participants=outsider).exists()

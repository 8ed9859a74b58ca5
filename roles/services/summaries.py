"""Executive summaries: who may send one, to which stakeholder teams, and sending it."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from incidents.models import Incident, Severity, TimelineEntry
from incidents.selectors import who_can_see
from incidents.services import timeline_record
from roles import permissions
from roles.models import ExecutiveSummary, Team
from roles.services.common import NotAllowed, RoleError, room_url, send_to, subject_for


def stakeholder_teams(severity: int) -> list[Team]:
    return [
        team for team in Team.objects.prefetch_related("members") if severity in (team.stakeholder_for or [])
    ]


@transaction.atomic
def executive_summary_send(
    *, incident: Incident, by: AbstractBaseUser, body: str, next_step: str = ""
) -> ExecutiveSummary:
    """Send the stakeholder teams for the incident's severity a summary, and note it on the timeline."""
    if not permissions.may_send_executive_summary(by, permissions.holders_of(incident)):
        raise NotAllowed(
            "The internal liaison (or the IC when nobody holds that role) sends executive summaries."
        )
    body = body.strip()
    if not body:
        raise RoleError("The summary needs some text.")
    teams = stakeholder_teams(incident.severity)
    stakeholders = {u.pk: u for team in teams for u in team.members.all() if u.is_active}
    if not stakeholders:
        raise RoleError(
            f"No stakeholder team with members is set up for {Severity(incident.severity).label} "
            "(Admin → Teams → stakeholders for severities)."
        )
    # A restricted incident reaches only its participants and admins, by e-mail too.
    people = {u.pk: u for u in who_can_see(incident=incident, people=stakeholders.values())}
    left_out = [u for pk, u in stakeholders.items() if pk not in people]
    if not people:
        raise RoleError(
            "This is a restricted incident and none of its stakeholders takes part in it: "
            "add the people who should know as participants first."
        )
    summary = ExecutiveSummary.objects.create(
        incident=incident, sent_by=by, severity=incident.severity, body=body, next_step=next_step.strip()
    )
    summary.teams.set(teams)
    text = body
    if summary.next_step:
        text += f"\n\n**Next step:** {summary.next_step}"
    send_to(
        kind="executive_summary",
        subject=subject_for(incident, f"Executive summary: {incident.title}"),
        body=text + f"\n\nIncident room: {room_url(incident)}",
        to=list(people.values()),
        incident=incident,
        dedup_key=f"executive-summary:{summary.pk}",
        context={"summary": summary.pk},
    )
    sent_to = f"Executive summary sent to {', '.join(t.name for t in teams)}"
    if left_out:
        names = ", ".join(u.get_full_name() or u.get_username() for u in left_out)
        sent_to += f" (not to {names}: not participants of this restricted incident)"
    timeline_record(
        incident=incident,
        kind=TimelineEntry.Kind.NOTE,
        body=f"{sent_to}.\n\n{text}",
        author=by,
        data={"executive_summary": summary.pk},
    )
    return summary

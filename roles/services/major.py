"""What happens when an incident becomes major (SEV-1/2), once per rise.

incidents calls incident_became_major() (registered in roles/apps.py through
incidents/hooks.py) from the service that declared or raised it, in the same
transaction: the on-call Incident Commander is paged when nobody commands, and
the severity's stakeholder teams are told. The rollback question (incidents)
and the summary and public-update cadences (reminders, counted from
incident.major_since) start with the same rise.
"""

from django.contrib.auth.models import AbstractBaseUser

from incidents.models import Incident, TimelineEntry
from incidents.selectors import who_can_see
from incidents.services import timeline_record
from roles import permissions
from roles.services.common import RoleError, room_url, send_to, subject_for
from roles.services.paging import page_incident_commander
from roles.services.summaries import stakeholder_teams


def incident_became_major(incident: Incident, by: AbstractBaseUser | None) -> None:
    since = incident.major_since
    rise = f"{incident.pk}:{since.timestamp():.0f}" if since else str(incident.pk)
    said = []
    if not permissions.has_commander(permissions.holders_of(incident)):
        try:
            # Writes its own page entry on the timeline.
            page_incident_commander(
                incident=incident, by=by, message=f"{incident.reference} is now {incident.severity_label}."
            )
        except RoleError as error:
            # No roster, or nobody on call: the incident still rises; the room says what is missing.
            said.append(f"Nobody was paged as Incident Commander: {error} Page one from the room.")
    teams = stakeholder_teams(incident.severity)
    members = {person.pk: person for team in teams for person in team.members.all()}
    # A restricted incident reaches only the stakeholders who take part in it.
    told = who_can_see(incident=incident, people=list(members.values()))
    if told:
        send_to(
            kind="other",
            subject=subject_for(incident, f"Now a major incident: {incident.title}"),
            body=f"{incident.reference} is now {incident.severity_label}. Executive summaries follow from "
            f"the internal liaison. The room: {room_url(incident)}",
            to=told,
            incident=incident,
            dedup_key=f"major:stakeholders:{rise}",
        )
    names = ", ".join(team.name for team in teams)
    said.append(f"Stakeholders told: {names}." if told else "No stakeholder team to tell for this severity.")
    said.append("Executive summaries and public updates are due on their cadence from now.")
    timeline_record(
        incident=incident,
        kind=TimelineEntry.Kind.NOTE,
        body="Now a major incident. " + " ".join(said),
        author=None,
        data={"major_rise": True, "stakeholders_told": len(told)},
    )

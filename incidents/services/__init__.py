"""Every change to an incident and its timeline goes through here.

Each service locks the incident row, checks that the change is allowed, writes
the change and its timeline entry in one transaction, and bumps the incident's
revision so that every open incident room picks the change up.

One module per subdomain; import from here (`from incidents.services import ...`):

- lifecycle: declare, status, severity, reopen, deploy freeze, details, participants
- timeline: what responders write, edit and strike; timeline_record for other apps
- tools: the response tools (changes, hypotheses, decisions, verification, where to join, the ETA)
- common: IncidentError, the lock, the revision, writing one entry
"""

from incidents.services.common import IncidentError, ProposeInstead, incident_lock, room_revision_key
from incidents.services.lifecycle import (
    TRANSITIONS,
    forward_status,
    incident_acknowledge,
    incident_change_severity,
    incident_change_status,
    incident_declare,
    incident_edit_details,
    incident_reopen,
    incident_set_deploy_freeze,
    participant_add,
    participant_remove,
)
from incidents.services.timeline import (
    BACKDATE_TOLERANCE_SECONDS,
    timeline_add,
    timeline_edit,
    timeline_record,
    timeline_strike,
)
from incidents.services.tools import incident_set_eta

__all__ = [
    "BACKDATE_TOLERANCE_SECONDS",
    "TRANSITIONS",
    "forward_status",
    "incident_acknowledge",
    "IncidentError",
    "ProposeInstead",
    "incident_change_severity",
    "incident_change_status",
    "incident_declare",
    "incident_edit_details",
    "incident_lock",
    "incident_reopen",
    "incident_set_deploy_freeze",
    "incident_set_eta",
    "participant_add",
    "participant_remove",
    "room_revision_key",
    "timeline_add",
    "timeline_edit",
    "timeline_record",
    "timeline_strike",
]

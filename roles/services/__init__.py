"""Every change to roles, pages, handovers and executive summaries goes through here.

Each service checks who may do it and what state allows it, writes the row and
its timeline entry in one transaction (incidents.services.timeline_record), and
sends messages only through comms.message_send in that same transaction, so
that a refused or rolled-back change sends nothing.

The services live in one module per domain; import them from here
(`from roles.services import role_assign`):

- assignments: role_assign, role_release, checklist_tick
- paging: page_send, page_incident_commander (who is paged, at which step), service_oncall
- escalation: page_escalate, pages_escalate_overdue, page_acknowledge
- notification_rules: personal notification rules and the steps of a page (import from the module)
- ack_links: the signed links that acknowledge a page
- handover: handover_submit, handover_prompts_send
- reminders: reminders_send
- summaries: executive_summary_send and who may send one
- major: what a rise to SEV-1/2 does (page the IC, tell the stakeholders), once per rise
- proposals: proposal_make, proposal_approve, proposal_reject, proposal_withdraw
- tasks: task_assign, task_move, workstream_start, workstream_close, participant_let_in/out
- swaps: swap_request, swap_accept, swap_decline, swap_cancel (shift swaps), calendar_feed_issue
- common: RoleError, NotAllowed, and the helpers the modules share (send_to, person_name...)
"""

from incidents.services import IncidentError
from roles.services.ack_links import ACK_SALT, page_ack_read, page_ack_token, page_ack_url
from roles.services.assignments import checklist_tick, role_assign, role_release
from roles.services.common import NotAllowed, RoleError, personal_webhook_channel, recipients_for
from roles.services.escalation import page_acknowledge, page_escalate, pages_escalate_overdue
from roles.services.handover import handover_note_compose, handover_prompts_send, handover_submit
from roles.services.paging import page_incident_commander, page_send, service_oncall
from roles.services.proposals import proposal_approve, proposal_make, proposal_reject, proposal_withdraw
from roles.services.reminders import reminders_send
from roles.services.summaries import executive_summary_send, stakeholder_teams
from roles.services.swaps import calendar_feed_issue, swap_accept, swap_cancel, swap_decline, swap_request
from roles.services.tasks import (
    participant_let_in,
    participant_let_out,
    task_assign,
    task_move,
    workstream_close,
    workstream_start,
)

__all__ = [
    # IncidentError is what views catch (`except services.IncidentError`): RoleError is one.
    "ACK_SALT",
    "IncidentError",
    "calendar_feed_issue",
    "NotAllowed",
    "RoleError",
    "checklist_tick",
    "executive_summary_send",
    "handover_note_compose",
    "handover_prompts_send",
    "handover_submit",
    "page_ack_read",
    "page_ack_token",
    "page_ack_url",
    "page_acknowledge",
    "page_escalate",
    "page_incident_commander",
    "page_send",
    "pages_escalate_overdue",
    "participant_let_in",
    "participant_let_out",
    "personal_webhook_channel",
    "proposal_approve",
    "proposal_make",
    "proposal_reject",
    "proposal_withdraw",
    "recipients_for",
    "reminders_send",
    "role_assign",
    "service_oncall",
    "role_release",
    "stakeholder_teams",
    "task_assign",
    "task_move",
    "workstream_close",
    "workstream_start",
    "swap_accept",
    "swap_cancel",
    "swap_decline",
    "swap_request",
]

"""The roles panel in the incident room and "my roles / my pages" on the dashboard.

Inclusion tags, so that the incident views stay as they are: the panel gathers
its own data in a fixed number of queries.
"""

from django import template

from incidents import permissions as incident_permissions
from roles import permissions, selectors, services
from roles.checklists import checklist_for
from roles.models import SINGLE_HOLDER_ROLES, IncidentRole, Schedule, Service, Task
from roles.services.proposals import describe as describe_proposal
from roles.services.tasks import SPAN_OF_CONTROL, span_exceeded

register = template.Library()


@register.inclusion_tag("roles/_panel.html", takes_context=True)
def roles_panel(context) -> dict:
    request = context["request"]
    user = request.user
    incident = context["incident"]
    holders = context.get("role_holders") or []
    held_roles = {a.role for a in holders}
    may_assign = permissions.may_assign_roles(user, holders)
    mine = []
    for assignment in holders:
        if assignment.user_id == user.pk:
            checklist = checklist_for(assignment.role, security=incident.is_security)
            done = set(assignment.checklist_done)
            mine.append(
                {
                    "assignment": assignment,
                    "checklist": checklist,
                    "items": [(item, item.key in done) for item in checklist.items],
                }
            )
    # Taking a role is not a back door: while an IC is assigned, they give the roles; command
    # itself is taken only by the trained or those on an IC schedule (roles/permissions.py).
    open_roles = []
    if not may_assign and not permissions.has_commander(holders) and incident.is_open:
        may_command = selectors.may_command(user)
        open_roles = [
            (value, label)
            for value, label in IncidentRole.choices
            if (value not in held_roles or value not in SINGLE_HOLDER_ROLES)
            and (value != IncidentRole.INCIDENT_COMMANDER or may_command)
        ]
    pages = selectors.pages_for_incident(incident, limit=5) if incident.pk else []
    for page in pages:
        page.notified_people = list(page.notified.all())
        page.ack_url = (
            services.page_ack_url(page=page, user=user)
            if page.status in (page.Status.TRIGGERED, page.Status.EXHAUSTED)
            and any(p.pk == user.pk for p in page.notified_people)
            else ""
        )
    is_open = incident.is_open
    return {
        "request": request,
        "user": user,
        "incident": incident,
        "holders": holders,
        "may_assign": may_assign,
        "mine": mine,
        "open_roles": open_roles,
        "roles": IncidentRole.choices,
        "people": _people(request) if is_open else [],
        "services": list(Service.objects.only("pk", "name")) if is_open else [],
        "schedules": list(Schedule.objects.only("pk", "name")) if is_open else [],
        "pages": pages,
        "roles_error": context.get("roles_error", ""),
        "csrf_token": context.get("csrf_token"),
        "may_summarise": permissions.may_send_executive_summary(user, holders),
        "may_read_outbox": permissions.may_read_incident_outbox(user, holders),
    }


@register.inclusion_tag("roles/_my_work.html", takes_context=True)
def my_work(context) -> dict:
    user = context["request"].user
    pages = selectors.my_open_pages(user)
    for page in pages:
        page.ack_url = services.page_ack_url(page=page, user=user)
    return {"roles": selectors.my_current_roles(user), "pages": pages, "tasks": selectors.my_open_tasks(user)}


def _people(request) -> list:
    """Everyone who may be given something, read once per request (two panels offer them)."""
    if not hasattr(request, "_assignable_people"):
        request._assignable_people = list(selectors.assignable_people())
    return request._assignable_people


def command_context(request, incident, holders: list | None = None) -> dict:
    """The command panel: who commands, open proposals, tasks, workstreams, who takes part.

    A fixed number of queries: holders, proposals, tasks, workstreams (with
    members), participants (restricted incidents only).
    """
    user = request.user
    if holders is None:
        holders = selectors.current_role_holders([incident.pk]).get(incident.pk, [])
    decides = incident_permissions.may_decide(user, incident, holders)
    proposals = list(
        incident.proposals.filter(state="open")
        .select_related("proposed_by", "workstream")
        .order_by("proposed_at", "pk")[:20]
    )
    for proposal in proposals:
        proposal.text = describe_proposal(proposal.action, proposal.payload)
        # permissions.may_answer_proposal, with may_decide read once for the panel.
        proposal.may_answer = decides or permissions.leads_proposal(user, proposal)
    tasks = list(
        incident.tasks.filter(state__in=Task.ACTIVE_STATES)
        .select_related("assignee", "workstream")
        .order_by("created_at", "pk")[:50]
    )
    workstreams = list(
        incident.workstreams.filter(closed_at__isnull=True).select_related("lead").prefetch_related("members")
    )
    # The composer's workstream choice, below the panel, reads these (selectors.open_workstreams).
    incident._open_workstreams = [(w.pk, w.name) for w in workstreams]
    participants = (
        list(incident.participants.order_by("first_name", "last_name", "username"))
        if incident.is_security
        else []
    )
    participant_count = len(participants) if incident.is_security else incident.participants.count()
    return {
        "request": request,
        "user": user,
        "incident": incident,
        "has_commander": permissions.has_commander(holders),
        "may_decide": decides,
        "may_assign_tasks": permissions.may_assign_task(user, holders),
        "leads": {w.pk for w in workstreams if w.lead_id == user.pk},
        "proposals": proposals,
        "tasks": tasks,
        "workstreams": workstreams,
        "span_exceeded": span_exceeded(participants=participant_count, workstreams=len(workstreams)),
        "participant_count": participant_count,
        "participants": participants,
        "may_manage_participants": incident.is_security
        and permissions.may_manage_participants(user, holders),
        "people": _people(request) if incident.is_open else [],
        "span": SPAN_OF_CONTROL,
    }


@register.inclusion_tag("roles/_command.html", takes_context=True)
def command_panel(context) -> dict:
    return {
        **command_context(context["request"], context["incident"], context.get("role_holders")),
        "csrf_token": context.get("csrf_token"),
        "oob": context.get("oob"),
    }

"""The roles panel in the incident room and "my roles / my pages" on the dashboard.

Inclusion tags, so that the incident views stay as they are: the panel gathers
its own data in a fixed number of queries.
"""

from django import template

from roles import permissions, selectors, services
from roles.checklists import checklist_for
from roles.models import SINGLE_HOLDER_ROLES, IncidentRole, Schedule, Service

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
            checklist = checklist_for(assignment.role)
            done = set(assignment.checklist_done)
            mine.append(
                {
                    "assignment": assignment,
                    "checklist": checklist,
                    "items": [(item, item.key in done) for item in checklist.items],
                }
            )
    open_roles = [
        (value, label)
        for value, label in IncidentRole.choices
        if value not in held_roles or value not in SINGLE_HOLDER_ROLES
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
        "people": list(selectors.assignable_people()) if is_open else [],
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
    return {"roles": selectors.my_current_roles(user), "pages": pages}

"""Public updates from the incident room, and component statuses set by hand."""

from collections.abc import Mapping
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from core.text import one_line
from incidents.models import Incident, TimelineEntry
from incidents.services import timeline_record
from statuspage import permissions
from statuspage.models import (
    IMPACT_FOR_COMPONENT_STATUS,
    IMPACT_RANK,
    PUBLISHABLE_STATUSES,
    Component,
    ComponentStatus,
    ComponentStatusChange,
    Impact,
    IncidentStatus,
    PublicIncident,
    PublicUpdate,
)
from statuspage.services.common import (
    MAX_BODY,
    MAX_TITLE,
    StatuspageError,
    fan_out_on_commit,
    record_component_status,
    refresh_on_commit,
)


@transaction.atomic
def component_change_status(
    *, component: Component, status: str, by: AbstractBaseUser | None
) -> ComponentStatusChange | None:
    """A status set by hand (the admin); kept in the history like every other change."""
    if status not in ComponentStatus.values:
        raise StatuspageError(f"{status!r} is not a component status.")
    component = Component.objects.select_for_update().get(pk=component.pk)
    if component.is_group:
        raise StatuspageError("A group's status is the worst of its components; change those instead.")
    change = record_component_status(component=component, status=status, by=by)
    refresh_on_commit()
    return change


# --- Public updates from the incident room -------------------------------------------------------


@dataclass(frozen=True)
class ComponentChange:
    component: Component
    old_status: str
    new_status: str

    @property
    def old_label(self) -> str:
        return ComponentStatus(self.old_status).label

    @property
    def new_label(self) -> str:
        return ComponentStatus(self.new_status).label


@dataclass(frozen=True)
class UpdatePlan:
    """A checked public update: what the preview shows and the publish writes."""

    title: str
    status: str
    body: str
    changes: tuple[ComponentChange, ...]
    impact: str
    public_incident: PublicIncident | None
    deliver_notifications: bool

    @property
    def affected_components(self) -> list[dict[str, str]]:
        return [
            {
                "code": change.component.public_id,
                "name": change.component.name,
                "old_status": change.old_status,
                "new_status": change.new_status,
            }
            for change in self.changes
        ]


def statuspage_check_update(
    *,
    incident: Incident,
    by: AbstractBaseUser,
    title: str,
    status: str,
    body: str,
    component_statuses: Mapping[str, str] | None = None,
    impact: str | None = None,
    deliver_notifications: bool = True,
    confirm_restricted: bool = False,
    lock: bool = False,
) -> UpdatePlan:
    """Check a public update without writing anything (the preview); raise StatuspageError if refused."""
    if not permissions.may_publish_for(by, incident):
        raise StatuspageError(
            "Only the customer liaison or the incident commander of this incident (or an admin) "
            "can publish public updates."
        )
    if incident.is_security and not confirm_restricted:
        raise StatuspageError(
            "This is a security incident: nothing about it is public. To publish this update anyway, "
            "confirm that you mean to."
        )
    # One line: the title is the subject of every subscriber's message.
    title = one_line(title)
    body = (body or "").strip()
    if not title:
        raise StatuspageError("A public update needs a public title.")
    if len(title) > MAX_TITLE:
        raise StatuspageError(f"The public title is longer than {MAX_TITLE} characters.")
    if not body:
        raise StatuspageError("A public update needs a message.")
    if len(body) > MAX_BODY:
        raise StatuspageError(f"The message is longer than {MAX_BODY} characters.")
    if status not in PUBLISHABLE_STATUSES:
        raise StatuspageError(
            f"{status!r} is not a public incident status: use investigating, identified, monitoring "
            "or resolved."
        )
    if impact not in (None, "", *Impact.values):
        raise StatuspageError(f"{impact!r} is not an impact: use none, minor, major or critical.")

    wanted = dict(component_statuses or {})
    components = Component.objects.filter(public_id__in=list(wanted))
    if lock:
        components = components.select_for_update()
    by_id = {c.public_id: c for c in components}
    changes = []
    for public_id, new_status in wanted.items():
        component = by_id.get(public_id)
        if component is None:
            raise StatuspageError(f"There is no component {public_id!r}.")
        if component.is_group:
            raise StatuspageError(
                f"{component.name} is a group: its status follows its components; set those instead."
            )
        if new_status == ComponentStatus.UNDER_MAINTENANCE:
            raise StatuspageError(
                f"{component.name} cannot be put under maintenance by an incident update: "
                "schedule a maintenance instead."
            )
        if new_status not in ComponentStatus.values:
            raise StatuspageError(f"{new_status!r} is not a component status for {component.name}.")
        changes.append(ComponentChange(component, component.status, new_status))
    changes.sort(key=lambda c: (c.component.position, c.component.name))

    public_incident = PublicIncident.objects.filter(incident=incident).first()
    if impact:
        new_impact = impact
    else:
        current = public_incident.impact if public_incident else Impact.NONE
        candidates = [current] + [IMPACT_FOR_COMPONENT_STATUS[c.new_status] for c in changes]
        new_impact = max(candidates, key=lambda i: IMPACT_RANK[i])
    return UpdatePlan(
        title=title,
        status=status,
        body=body,
        changes=tuple(changes),
        impact=new_impact,
        public_incident=public_incident,
        deliver_notifications=deliver_notifications,
    )


def _timeline_body(plan: UpdatePlan) -> str:
    label = IncidentStatus(plan.status).label.lower()
    lines = [f"Public update posted ({label}): “{plan.title}”", "", plan.body]
    if plan.changes:
        lines += ["", "Components:"]
        lines += [
            f"- {c.component.name}: {ComponentStatus(c.old_status).label.lower()} → "
            f"{ComponentStatus(c.new_status).label.lower()}"
            for c in plan.changes
        ]
    if not plan.deliver_notifications:
        lines += ["", "Subscribers were not notified."]
    return "\n".join(lines)


@transaction.atomic
def statuspage_publish_update(
    *,
    incident: Incident,
    by: AbstractBaseUser,
    title: str,
    status: str,
    body: str,
    component_statuses: Mapping[str, str] | None = None,
    impact: str | None = None,
    deliver_notifications: bool = True,
    confirm_restricted: bool = False,
) -> PublicUpdate:
    """Publish an update of the incident to the status page and its subscribers.

    The incident row is locked first, so two liaisons publishing at once are
    serialised and each sees the component statuses the other one set.
    """
    Incident.objects.select_for_update().filter(pk=incident.pk).first()
    plan = statuspage_check_update(
        incident=incident,
        by=by,
        title=title,
        status=status,
        body=body,
        component_statuses=component_statuses,
        impact=impact,
        deliver_notifications=deliver_notifications,
        confirm_restricted=confirm_restricted,
        lock=True,
    )
    now = timezone.now()
    public_incident = plan.public_incident
    if public_incident is None:
        public_incident = PublicIncident(incident=incident, created_at=now, started_at=now)
    else:
        public_incident = PublicIncident.objects.select_for_update().get(pk=public_incident.pk)
    public_incident.name = plan.title
    public_incident.status = plan.status
    public_incident.impact = plan.impact
    public_incident.updated_at = now
    if plan.status == IncidentStatus.MONITORING and public_incident.monitoring_at is None:
        public_incident.monitoring_at = now
    if plan.status == IncidentStatus.RESOLVED:
        public_incident.resolved_at = public_incident.resolved_at or now
    else:
        public_incident.resolved_at = None
    public_incident.save()

    update = PublicUpdate.objects.create(
        public_incident=public_incident,
        status=plan.status,
        body=plan.body,
        affected_components=plan.affected_components,
        deliver_notifications=plan.deliver_notifications,
        author=by,
        created_at=now,
        display_at=now,
    )
    for change in plan.changes:
        record_component_status(
            component=change.component, status=change.new_status, by=by, public_update=update, when=now
        )
    if plan.changes:
        public_incident.components.add(*[c.component for c in plan.changes])

    update.timeline_entry = timeline_record(
        incident=incident,
        kind=TimelineEntry.Kind.PUBLIC_UPDATE,
        body=_timeline_body(plan),
        author=by,
        data={
            "public_incident": public_incident.public_id,
            "public_update": update.public_id,
            "status": plan.status,
            "title": plan.title,
            "components": {c.component.public_id: c.new_status for c in plan.changes},
            "notified": plan.deliver_notifications,
        },
    )
    update.save(update_fields=["timeline_entry"])

    refresh_on_commit(public_incident.public_id)
    if plan.deliver_notifications:
        fan_out_on_commit(PublicUpdate, update.pk)
    return update


@transaction.atomic
def statuspage_publish_postmortem(*, incident: Incident, by: AbstractBaseUser, body: str) -> PublicIncident:
    """Tell customers what happened and what changes, after the review (Statuspage's "postmortem").

    The public incident shows the text and its status becomes `postmortem` (the v2
    JSON says so, as Statuspage's does). Only an incident that customers saw and that
    is resolved on the page has one; subscribers are not notified again.
    """
    Incident.objects.select_for_update().filter(pk=incident.pk).first()
    if not permissions.may_publish_for(by, incident):
        raise StatuspageError(
            "Only the customer liaison or the incident commander of this incident (or an admin) "
            "can publish on the status page."
        )
    body = (body or "").strip()
    if not body:
        raise StatuspageError("A postmortem needs some text.")
    if len(body) > MAX_BODY:
        raise StatuspageError(f"The postmortem is longer than {MAX_BODY} characters.")
    public_incident = PublicIncident.objects.select_for_update().filter(incident=incident).first()
    if public_incident is None:
        raise StatuspageError(
            "This incident was never on the status page: there is no public incident to add a postmortem to."
        )
    if public_incident.status not in (IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM):
        raise StatuspageError("Resolve the incident on the status page before publishing its postmortem.")
    now = timezone.now()
    public_incident.postmortem_body = body
    public_incident.postmortem_published_at = now
    public_incident.status = IncidentStatus.POSTMORTEM
    public_incident.resolved_at = public_incident.resolved_at or now
    public_incident.updated_at = now
    public_incident.save()
    timeline_record(
        incident=incident,
        kind=TimelineEntry.Kind.PUBLIC_UPDATE,
        body=f"Postmortem published on the status page: “{public_incident.name}”\n\n{body}",
        author=by,
        data={
            "public_incident": public_incident.public_id,
            "postmortem": True,
            "status": IncidentStatus.POSTMORTEM,
        },
    )
    refresh_on_commit(public_incident.public_id)
    return public_incident

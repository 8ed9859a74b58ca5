"""Every change to what the public sees goes through here.

Each service checks the change, writes it (and, for incidents, the timeline entry
through incidents.services.timeline_record) in one transaction, and on commit
refreshes the public documents and hands notifications to Celery.
"""

import ipaddress
import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from incidents.models import Incident, TimelineEntry
from incidents.services import timeline_record
from statuspage import public_cache, selectors
from statuspage.models import (
    IMPACT_FOR_COMPONENT_STATUS,
    IMPACT_RANK,
    PUBLISHABLE_STATUSES,
    Component,
    ComponentStatus,
    ComponentStatusChange,
    Impact,
    IncidentStatus,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
    PublicIncident,
    PublicUpdate,
    Subscriber,
)

logger = logging.getLogger(__name__)


class StatuspageError(Exception):
    """A change the rules do not allow; the message is meant for a person."""


MAX_BODY = 10000
MAX_TITLE = 200


def _refresh_on_commit(*also: str) -> None:
    ids = tuple(also)
    transaction.on_commit(lambda: public_cache.refresh_quietly(also=ids, force=False))


def public_changed() -> None:
    """Something public changed outside these services (admin edits, deletions): refresh after commit."""
    transaction.on_commit(lambda: public_cache.refresh_quietly(force=True))


def _record_component_status(
    *,
    component: Component,
    status: str,
    by: AbstractBaseUser | None,
    public_update: PublicUpdate | None = None,
    maintenance: Maintenance | None = None,
    when: datetime | None = None,
) -> ComponentStatusChange | None:
    if component.status == status:
        return None
    change = ComponentStatusChange.objects.create(
        component=component,
        old_status=component.status,
        new_status=status,
        changed_at=when or timezone.now(),
        changed_by=by if by is not None and by.is_authenticated else None,
        public_update=public_update,
        maintenance=maintenance,
    )
    component.status = status
    component.save(update_fields=["status", "updated_at"])
    return change


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
    change = _record_component_status(component=component, status=status, by=by)
    _refresh_on_commit()
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
    if not selectors.can_publish_for(user=by, incident=incident):
        raise StatuspageError(
            "Only the customer liaison or the incident commander of this incident (or an admin) "
            "can publish public updates."
        )
    if incident.is_security and not confirm_restricted:
        raise StatuspageError(
            "This is a security incident: nothing about it is public. To publish this update anyway, "
            "confirm that you mean to."
        )
    title = (title or "").strip()
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
        _record_component_status(
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

    _refresh_on_commit(public_incident.public_id)
    if plan.deliver_notifications:
        _fan_out_on_commit(PublicUpdate, update.pk)
    return update


def _fan_out_on_commit(model: type, update_id: int) -> None:
    kind = "incident" if model is PublicUpdate else "maintenance"
    transaction.on_commit(lambda: enqueue_fan_out(kind, update_id))


def enqueue_fan_out(kind: str, update_id: int) -> None:
    """Hand a fan-out to Celery; a broker that is down is logged, and the tick sends it later."""
    from statuspage import tasks

    try:
        tasks.fan_out_update.delay(kind, update_id)
    except Exception:  # noqa: BLE001 - notified_at stays empty, so statuspage_tick retries
        logger.warning("status page: fan-out of %s update %s not enqueued", kind, update_id, exc_info=True)


# --- Scheduled maintenance -------------------------------------------------------------------------

MAINTENANCE_TRANSITIONS = {
    MaintenanceStatus.SCHEDULED: {MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.COMPLETED},
    MaintenanceStatus.IN_PROGRESS: {MaintenanceStatus.VERIFYING, MaintenanceStatus.COMPLETED},
    MaintenanceStatus.VERIFYING: {MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.COMPLETED},
    MaintenanceStatus.COMPLETED: set(),
}

MAINTENANCE_DEFAULT_BODIES = {
    MaintenanceStatus.SCHEDULED: "This maintenance is scheduled.",
    MaintenanceStatus.IN_PROGRESS: "Scheduled maintenance is currently in progress. "
    "We will provide updates as necessary.",
    MaintenanceStatus.VERIFYING: "Verification is currently underway for the maintenance items.",
    MaintenanceStatus.COMPLETED: "The scheduled maintenance has been completed.",
}


@transaction.atomic
def maintenance_schedule(
    *,
    name: str,
    scheduled_for: datetime,
    scheduled_until: datetime,
    components: Iterable[Component] = (),
    body: str = "",
    by: AbstractBaseUser | None,
    auto_start: bool = True,
    auto_complete: bool = True,
    deliver_notifications: bool = True,
) -> Maintenance:
    name = (name or "").strip()
    if not name:
        raise StatuspageError("A maintenance needs a name.")
    if scheduled_for is None or scheduled_until is None:
        raise StatuspageError("A maintenance needs a start and an end.")
    if scheduled_until <= scheduled_for:
        raise StatuspageError("The maintenance window must end after it starts.")
    components = list(components)
    if any(c.is_group for c in components):
        raise StatuspageError("Pick the components in a group, not the group itself.")
    now = timezone.now()
    maintenance = Maintenance.objects.create(
        name=name,
        scheduled_for=scheduled_for,
        scheduled_until=scheduled_until,
        auto_start=auto_start,
        auto_complete=auto_complete,
        created_by=by,
        created_at=now,
        updated_at=now,
    )
    maintenance.components.set(components)
    update = MaintenanceUpdate.objects.create(
        maintenance=maintenance,
        status=MaintenanceStatus.SCHEDULED,
        body=body.strip() or MAINTENANCE_DEFAULT_BODIES[MaintenanceStatus.SCHEDULED],
        affected_components=[
            {"code": c.public_id, "name": c.name, "old_status": c.status, "new_status": c.status}
            for c in components
        ],
        deliver_notifications=deliver_notifications,
        author=by,
        created_at=now,
        display_at=now,
    )
    _refresh_on_commit(maintenance.public_id)
    if deliver_notifications:
        _fan_out_on_commit(MaintenanceUpdate, update.pk)
    return maintenance


@transaction.atomic
def maintenance_post_update(
    *,
    maintenance: Maintenance,
    status: str,
    body: str = "",
    by: AbstractBaseUser | None,
    deliver_notifications: bool = True,
    now: datetime | None = None,
) -> MaintenanceUpdate:
    """Move a maintenance on (scheduled → in progress → verifying → completed), with a message."""
    maintenance = Maintenance.objects.select_for_update().get(pk=maintenance.pk)
    if status not in MaintenanceStatus.values:
        raise StatuspageError(f"{status!r} is not a maintenance status.")
    if status != maintenance.status and status not in MAINTENANCE_TRANSITIONS[maintenance.status]:
        raise StatuspageError(
            f"A maintenance cannot go from {MaintenanceStatus(maintenance.status).label.lower()} "
            f"to {MaintenanceStatus(status).label.lower()}."
        )
    if len(body) > MAX_BODY:
        raise StatuspageError(f"The message is longer than {MAX_BODY} characters.")
    now = now or timezone.now()
    components = list(maintenance.components.select_for_update().order_by("position", "name"))
    affected = []
    if status in (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING) and not maintenance.started_at:
        maintenance.started_at = now
        before = {}
        for component in components:
            before[component.public_id] = component.status
            old = component.status
            _record_component_status(
                component=component,
                status=ComponentStatus.UNDER_MAINTENANCE,
                by=by,
                maintenance=maintenance,
                when=now,
            )
            affected.append(
                {
                    "code": component.public_id,
                    "name": component.name,
                    "old_status": old,
                    "new_status": component.status,
                }
            )
        maintenance.statuses_before = before
    if status == MaintenanceStatus.COMPLETED:
        maintenance.completed_at = now
        for component in components:
            if component.status != ComponentStatus.UNDER_MAINTENANCE:
                continue  # someone set it by hand meanwhile: theirs is the newer word
            restored = maintenance.statuses_before.get(component.public_id, ComponentStatus.OPERATIONAL)
            if restored == ComponentStatus.UNDER_MAINTENANCE:
                restored = ComponentStatus.OPERATIONAL
            _record_component_status(
                component=component, status=restored, by=by, maintenance=maintenance, when=now
            )
            affected.append(
                {
                    "code": component.public_id,
                    "name": component.name,
                    "old_status": ComponentStatus.UNDER_MAINTENANCE,
                    "new_status": restored,
                }
            )
    maintenance.status = status
    maintenance.updated_at = now
    maintenance.save()
    update = MaintenanceUpdate.objects.create(
        maintenance=maintenance,
        status=status,
        body=body.strip() or MAINTENANCE_DEFAULT_BODIES[status],
        affected_components=affected,
        deliver_notifications=deliver_notifications,
        author=by,
        created_at=now,
        display_at=now,
    )
    _refresh_on_commit(maintenance.public_id)
    if deliver_notifications:
        _fan_out_on_commit(MaintenanceUpdate, update.pk)
    return update


def maintenance_tick(*, now: datetime | None = None) -> list[MaintenanceUpdate]:
    """Start the maintenances whose window opened and complete those whose window closed.

    Idempotent: each step re-checks the status under a row lock, so a beat that
    fires twice, or two workers, move a maintenance once.
    """
    now = now or timezone.now()
    done = []
    for maintenance_id in list(selectors.maintenances_due_to_start(now).values_list("pk", flat=True)):
        with transaction.atomic():
            maintenance = Maintenance.objects.select_for_update().filter(pk=maintenance_id).first()
            if maintenance is None or maintenance.status != MaintenanceStatus.SCHEDULED:
                continue
            done.append(
                maintenance_post_update(
                    maintenance=maintenance, status=MaintenanceStatus.IN_PROGRESS, by=None, now=now
                )
            )
    for maintenance_id in list(selectors.maintenances_due_to_complete(now).values_list("pk", flat=True)):
        with transaction.atomic():
            maintenance = Maintenance.objects.select_for_update().filter(pk=maintenance_id).first()
            if maintenance is None or not maintenance.is_active:
                continue
            done.append(
                maintenance_post_update(
                    maintenance=maintenance, status=MaintenanceStatus.COMPLETED, by=None, now=now
                )
            )
    return done


# --- Subscribers ---------------------------------------------------------------------------------

_webhook_url = URLValidator(schemes=["http", "https"])


def _is_public_host(host: str) -> bool:
    """Anyone may subscribe a webhook: do not let them aim the portal at its own network."""
    host = host.strip("[]").lower()
    if not host or host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True  # a name; where it resolves to is comms' business at delivery time
    return address.is_global


@transaction.atomic
def subscriber_subscribe(
    *, kind: str, email: str, webhook_url: str = "", component_ids: Iterable[str] = ()
) -> Subscriber:
    """Ask for a subscription; it starts only when the confirmation link is followed.

    Answers the same whether or not the address was subscribed already, so the
    form tells nobody who subscribes to what.
    """
    if kind not in Subscriber.Kind.values:
        raise StatuspageError("Subscribe by e-mail or by webhook.")
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise StatuspageError(f"{email or 'That'!r} is not a valid e-mail address.") from None
    webhook_url = (webhook_url or "").strip()
    if kind == Subscriber.Kind.WEBHOOK:
        try:
            _webhook_url(webhook_url)
        except ValidationError:
            raise StatuspageError("The webhook URL must be a full http:// or https:// address.") from None
        if not _is_public_host(urlsplit(webhook_url).hostname or ""):
            raise StatuspageError(
                "The webhook URL must point to a public address, not a local or private one."
            )
    else:
        webhook_url = ""
    component_ids = list(dict.fromkeys(component_ids))
    components = list(Component.objects.filter(public_id__in=component_ids, is_group=False))
    if len(components) != len(component_ids):
        raise StatuspageError("One of the chosen components does not exist.")

    live = Subscriber.objects.select_for_update().filter(kind=kind, unsubscribed_at__isnull=True)
    existing = (
        live.filter(webhook_url=webhook_url).first()
        if kind == Subscriber.Kind.WEBHOOK
        else live.filter(email__iexact=email).first()
    )
    if existing is not None:
        if existing.confirmed_at is None:
            # Not confirmed yet: the latest request decides, and the link is sent again.
            existing.email = email
            existing.save(update_fields=["email"])
            existing.components.set(components)
            _confirmation_on_commit(existing)
        return existing
    try:
        with transaction.atomic():
            subscriber = Subscriber.objects.create(kind=kind, email=email, webhook_url=webhook_url)
    except IntegrityError:
        raise StatuspageError("That subscription was just requested; check the inbox.") from None
    subscriber.components.set(components)
    _confirmation_on_commit(subscriber)
    return subscriber


def _confirmation_on_commit(subscriber: Subscriber) -> None:
    from statuspage import tasks

    subscriber_id, request_key = subscriber.pk, uuid.uuid4().hex

    def enqueue() -> None:
        try:
            tasks.send_confirmation.delay(subscriber_id, request_key)
        except Exception:  # noqa: BLE001 - the person can ask again; the page keeps working
            logger.warning(
                "status page: confirmation for subscriber %s not enqueued", subscriber_id, exc_info=True
            )

    transaction.on_commit(enqueue)


@transaction.atomic
def subscriber_confirm(*, token: str) -> Subscriber:
    subscriber = Subscriber.objects.select_for_update().filter(token=token).first()
    if subscriber is None or subscriber.unsubscribed_at is not None:
        raise StatuspageError("This confirmation link is not valid (any more). Subscribe again.")
    if subscriber.confirmed_at is None:
        subscriber.confirmed_at = timezone.now()
        subscriber.save(update_fields=["confirmed_at"])
    return subscriber


@transaction.atomic
def subscriber_unsubscribe(*, token: str) -> Subscriber:
    subscriber = Subscriber.objects.select_for_update().filter(token=token).first()
    if subscriber is None:
        raise StatuspageError("This unsubscribe link is not valid.")
    if subscriber.unsubscribed_at is None:
        subscriber.unsubscribed_at = timezone.now()
        subscriber.save(update_fields=["unsubscribed_at"])
    return subscriber

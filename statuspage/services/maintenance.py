"""Scheduled maintenance: announced, started and completed on time, with its component statuses."""

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from core.text import one_line
from statuspage import selectors
from statuspage.models import (
    Component,
    ComponentStatus,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
)
from statuspage.services.common import (
    MAX_BODY,
    StatuspageError,
    fan_out_on_commit,
    record_component_status,
    refresh_on_commit,
)

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
    name = one_line(name)  # the subject of every subscriber's message
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
    refresh_on_commit(maintenance.public_id)
    if deliver_notifications:
        fan_out_on_commit(MaintenanceUpdate, update.pk)
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
            record_component_status(
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
            record_component_status(
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
    refresh_on_commit(maintenance.public_id)
    if deliver_notifications:
        fan_out_on_commit(MaintenanceUpdate, update.pk)
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

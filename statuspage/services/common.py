"""What the status page services share: their error, text limits, and what follows a change on commit."""

import logging
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from core.errors import DomainError
from core.tasks import enqueue
from statuspage import public_cache
from statuspage.models import (
    Component,
    ComponentStatusChange,
    Maintenance,
    PublicUpdate,
)

logger = logging.getLogger(__name__)

# statuspage/tasks.py, which calls back into these services.
FAN_OUT_TASK = "statuspage.tasks.fan_out_update"
CONFIRMATION_TASK = "statuspage.tasks.send_confirmation"


class StatuspageError(DomainError):
    """A change the rules do not allow; the message is meant for a person."""


MAX_BODY = 10000
MAX_TITLE = 200


def refresh_on_commit(*also: str) -> None:
    ids = tuple(also)
    transaction.on_commit(lambda: public_cache.refresh_quietly(also=ids, force=False))


def public_changed() -> None:
    """Something public changed outside these services (admin edits, deletions): refresh after commit."""
    transaction.on_commit(lambda: public_cache.refresh_quietly(force=True))


def record_component_status(
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


def fan_out_on_commit(model: type, update_id: int) -> None:
    kind = "incident" if model is PublicUpdate else "maintenance"
    transaction.on_commit(lambda: enqueue_fan_out(kind, update_id))


def enqueue_fan_out(kind: str, update_id: int) -> None:
    """Hand a fan-out to Celery; a broker that is down is logged, and the tick sends it later."""
    try:
        enqueue(FAN_OUT_TASK, kind, update_id)
    except Exception:  # noqa: BLE001 - notified_at stays empty, so statuspage_tick retries
        logger.warning("status page: fan-out of %s update %s not enqueued", kind, update_id, exc_info=True)

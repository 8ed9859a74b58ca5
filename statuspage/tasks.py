"""Thin Celery adapters: ids in, call the service, safe to run twice."""

from celery import shared_task

from statuspage import services


@shared_task
def send_confirmation(subscriber_id: int, request_key: str) -> None:
    services.confirmation_send(subscriber_id=subscriber_id, request_key=request_key)


@shared_task
def fan_out_update(kind: str, update_id: int) -> int:
    """Tell each subscriber who wants it about a published update (dedup keys make a re-run harmless)."""
    return services.update_fan_out(kind=kind, update_id=update_id)


@shared_task
def statuspage_tick() -> int:
    """Every minute (beat): start and complete maintenance on time, keep the public page fresh."""
    return services.statuspage_tick()

"""Thin Celery adapters around comms.services: ids in, the outbox row decides."""

from celery import shared_task

from comms import services


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver(delivery_ids: list[int]) -> dict[str, int]:
    """Send these deliveries; a second run of the same task finds them claimed or sent."""
    return services.deliveries_send(delivery_ids=delivery_ids)


@shared_task(ignore_result=True)
def sweep_outbox() -> int:
    """Re-enqueue deliveries left behind by a lost task or a dead worker (on beat)."""
    return services.outbox_sweep()

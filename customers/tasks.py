"""Thin Celery adapters around customers.services: ids in, re-fetch, call the service."""

from celery import shared_task

from customers import services


@shared_task(name="customers.follow_ups_open")
def follow_ups_open(incident_id: int) -> int:
    """After a resolve (on commit): the follow-ups with its affected customers; idempotent."""
    return len(services.follow_ups_open(incident_id=incident_id))


@shared_task(name="customers.reminders_send")
def reminders_send() -> dict[str, int]:
    """The beat: call reminders (once per period), and follow-ups a lost task did not open."""
    return {
        "calls": services.call_reminders_send(),
        "follow_ups": services.follow_ups_open_missed(),
    }

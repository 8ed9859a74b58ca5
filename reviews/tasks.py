"""Celery tasks of the reviews app: thin adapters around idempotent services."""

from celery import shared_task

from reviews.services import reminders


@shared_task(name="reviews.reminders_send")
def reminders_send() -> dict[str, int]:
    """Review due soon / overdue, meeting tomorrow, follow-up overdue, weekly team digest; each once."""
    return reminders.reminders_send()

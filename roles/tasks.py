"""Thin Celery adapters around roles.services: ids in, re-fetch, call the service."""

from celery import shared_task
from django.utils import timezone

from roles import services
from roles.models import Page, PageNotification
from roles.services import notification_rules


@shared_task(name="roles.page_escalate", bind=True)
def page_escalate(self, page_id: int, token: str) -> str:
    """Escalate a page if it is still waiting at its due time; stale runs do nothing."""
    page = Page.objects.filter(pk=page_id).values("escalates_at", "escalation_token", "status").first()
    if page is None or str(page["escalation_token"]) != token or page["status"] != Page.Status.TRIGGERED:
        return "stale"
    due = page["escalates_at"]
    if due is not None and timezone.now() < due:
        # Delivered early (clock skew, a broker that ignores ETAs): wait for the due time.
        # The beat sweep is the safety net if this re-scheduled run is lost.
        if not self.app.conf.task_always_eager:
            page_escalate.apply_async((page_id, token), eta=due)
        return "early"
    return "escalated" if services.page_escalate(page_id=page_id, token=token) else "stale"


@shared_task(name="roles.pages_escalate_overdue")
def pages_escalate_overdue() -> int:
    return services.pages_escalate_overdue()


@shared_task(name="roles.handover_prompts_send")
def handover_prompts_send() -> int:
    return services.handover_prompts_send()


@shared_task(name="roles.reminders_send")
def reminders_send() -> dict[str, int]:
    return services.reminders_send()


@shared_task(name="roles.page_step_send", bind=True)
def page_step_send(self, step_id: int, token: str) -> str:
    """Send one step of a person's notification rules at its time; stale or stopped runs do nothing."""
    step = PageNotification.objects.filter(pk=step_id).values("due_at", "token", "state").first()
    if step is None or str(step["token"]) != token or step["state"] != PageNotification.State.SCHEDULED:
        return "stale"
    if timezone.now() < step["due_at"]:
        # Delivered early (clock skew, a broker that ignores ETAs): wait for the due time.
        if not self.app.conf.task_always_eager:
            page_step_send.apply_async((step_id, token), eta=step["due_at"])
        return "early"
    return "sent" if notification_rules.page_step_send(step_id=step_id, token=token) else "stale"


@shared_task(name="roles.page_steps_send_due")
def page_steps_send_due() -> int:
    return notification_rules.page_steps_send_due()

"""The Celery app, and every periodic job of the portal in one place."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("coolhead")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic work. Each entry is a thin task around an idempotent service, so a
# beat that fires twice, or late, does no harm.
app.conf.beat_schedule = {}
# The outbox safety net: deliveries whose task was lost or whose worker died.
app.conf.beat_schedule["comms-sweep-outbox"] = {"task": "comms.tasks.sweep_outbox", "schedule": 60.0}
# Status page: start and complete scheduled maintenance on time, keep the public page fresh.
app.conf.beat_schedule["statuspage-tick"] = {"task": "statuspage.tasks.statuspage_tick", "schedule": 60.0}
# People side (roles): pages whose countdown task was lost escalate on this sweep;
# end-of-day handover prompts (once per person and day); executive summary due,
# public update overdue and long-incident check-up reminders (once per period).
app.conf.beat_schedule["roles-overdue-pages"] = {"task": "roles.pages_escalate_overdue", "schedule": 60.0}
# Steps of personal notification rules whose countdown task was lost are sent on this sweep.
app.conf.beat_schedule["roles-page-steps"] = {"task": "roles.page_steps_send_due", "schedule": 30.0}
app.conf.beat_schedule["roles-handover-prompts"] = {"task": "roles.handover_prompts_send", "schedule": 60.0}
app.conf.beat_schedule["roles-reminders"] = {"task": "roles.reminders_send", "schedule": 60.0}
# After incidents (reviews): review due soon or overdue, meeting tomorrow, follow-up
# overdue, the weekly team digest; each sent once (its dedup key), so every 5 minutes is fine.
app.conf.beat_schedule["reviews-reminders"] = {"task": "reviews.reminders_send", "schedule": 300.0}
# Customers: call the affected customers while the ETA is more than an hour away (once per
# period until each is called or skipped), and follow-ups a lost task did not open.
app.conf.beat_schedule["customers-reminders"] = {"task": "customers.reminders_send", "schedule": 60.0}
# Integrations: `/incident status stalk` posts the status to its Slack channel every 30 seconds.
app.conf.beat_schedule["integrations-slack-stalks"] = {
    "task": "integrations.tasks.slack_stalks_post",
    "schedule": 30.0,
}

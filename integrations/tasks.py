"""Thin Celery adapters around the integration services."""

from celery import shared_task

from integrations import slack


@shared_task(ignore_result=True)
def slack_stalks_post() -> int:
    """Post the status of each followed incident to its Slack channel (on beat)."""
    return slack.slack_stalks_post()

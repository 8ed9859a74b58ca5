"""Helpers for the Slack tests: a slash command signed as Slack signs it, and a linked Slack user."""

import time
from urllib.parse import urlencode

from integrations.models import SlackIdentity
from integrations.slack import signature_for
from tests.factories import UserFactory

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
URL = "/integrations/slack/commands/"


def linked_person(username: str, slack_user_id: str, *, team_id: str = "T0001", **fields):
    """A person whose Slack user is linked already (linking itself: tests/api/test_slack_link.py)."""
    person = UserFactory(username=username, **fields)
    SlackIdentity.objects.create(
        user=person, team_id=team_id, slack_user_id=slack_user_id, slack_user_name=username
    )
    return person


def slack(
    client,
    text,
    *,
    user_name="alice",
    user_id="U0ALICE",
    team_id="T0001",
    channel_id="C0INCIDENT",
    secret=SECRET,
    timestamp=None,
    signature=None,
):
    body = urlencode(
        {
            "token": "legacy",
            "team_id": team_id,
            "channel_id": channel_id,
            "user_id": user_id,
            "user_name": user_name,
            "command": "/incident",
            "text": text,
            "response_url": "https://hooks.slack.com/commands/T0001/1/abc",
            "trigger_id": "1.2.3",
        }
    ).encode()
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    signature = signature or signature_for(secret=secret, timestamp=timestamp, body=body)
    return client.post(
        URL,
        body,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_SLACK_REQUEST_TIMESTAMP=timestamp,
        HTTP_X_SLACK_SIGNATURE=signature,
    )

"""Helpers for the alert ingestion tests: recorded payloads and a service with a key."""

import copy
import json
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def payload(name: str, **overrides) -> dict:
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    data = copy.deepcopy(data)
    data.update(overrides)
    return data


def post_alertmanager(client, data, key: str, **extra):
    body = data if isinstance(data, (str, bytes)) else json.dumps(data)
    return client.post(
        "/integrations/alertmanager/",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        **extra,
    )


def post_pagerduty(client, data, **extra):
    body = data if isinstance(data, (str, bytes)) else json.dumps(data)
    return client.post("/integrations/pagerduty/v2/enqueue", body, content_type="application/json", **extra)

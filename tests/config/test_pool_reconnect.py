"""After PostgreSQL comes back, every worker's pool reconnects within about a second."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json
import django
django.setup()
from django.conf import settings
from psycopg_pool.base import AttemptWithBackoff
attempt = AttemptWithBackoff(timeout=300)
delays = []
for second in range(0, 60, 5):
    attempt.update_delay(float(second))
    delays.append(attempt.delay)
print(json.dumps({"pool": "pool" in settings.DATABASES["default"]["OPTIONS"], "delays": delays}))
"""


def test_a_pool_that_lost_postgresql_tries_again_every_second_not_ever_later():
    # Settings read in a process of its own, as a worker does, with a PostgreSQL URL
    # (nothing connects: only the pool's retry schedule is read).
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "DB_POOL": "1",
        "DEBUG": "1",
    }
    command = [sys.executable, "-c", PROBE]
    out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True)
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    assert answer["pool"]
    # psycopg_pool's own schedule doubles each time (1, 2, 4 ... 2048 s, capped at the
    # 5-minute give-up): a worker would stay "not ready" that long after an outage ended.
    assert len(answer["delays"]) == 12
    assert max(answer["delays"]) <= 1.2, answer["delays"]

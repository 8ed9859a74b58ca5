"""Each benchmark starts from this checkout: its imports, Django set-up and options.

The figures themselves are measured by hand (README); what rots silently is a
benchmark that no longer starts after the code it drives moved.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WITH_OPTIONS = ["alerts_burst", "comms_email_burst", "insights_bench", "room_live", "statuspage_bench"]


@pytest.mark.parametrize("name", WITH_OPTIONS)
def test_the_benchmark_starts_and_explains_its_options(name, tmp_path):
    env = {**os.environ, "COOLHEAD_RUN_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)  # --help must not touch a database
    if name == "room_live":
        # It refuses to start without PostgreSQL and Redis named (nothing connects for --help).
        env.update(DATABASE_URL="postgres://nobody@127.0.0.1:1/none", REDIS_URL="redis://127.0.0.1:1/0")
    answer = subprocess.run(
        [sys.executable, f"benchmarks/{name}.py", "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert answer.returncode == 0, answer.stderr[-2000:]
    assert answer.stdout.startswith("usage:"), answer.stdout[:500]


def test_every_benchmark_is_in_this_test_or_runs_without_options():
    scripts = {p.stem for p in (ROOT / "benchmarks").glob("*.py") if not p.stem.startswith("_")}
    assert scripts - set(WITH_OPTIONS) == {"room_poll"}, scripts

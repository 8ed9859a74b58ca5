"""Gunicorn reads this file from the working directory (the image's /app) by default.

The portal runs as an ASGI application in uvicorn workers
(`gunicorn config.asgi:application -k config.workers.Worker`): README, Sizing.

The access log masks links that are secrets (acknowledge, confirm, unsubscribe
and password reset links): see config/secret_logs.py. Gunicorn's own access log
goes through AccessLogger; uvicorn's workers write theirs through the
"uvicorn.access" logger, which gets the same mask in post_worker_init.
"""

import os
import shutil
import tempfile
from pathlib import Path

logger_class = "config.secret_logs.AccessLogger"


# --- /metrics with several workers ------------------------------------------------------------
# Counters kept in the web processes (alert events refused or accepted,
# integrations/metrics.py) must add up over every worker, whichever one answers
# the scrape: prometheus-client's multiprocess mode keeps them in files in one
# directory. Set PROMETHEUS_MULTIPROC_DIR to choose it; by default each
# gunicorn start gets a fresh one (counters of an earlier run are not mixed in).


_made_directory: list[str] = []


def on_starting(server) -> None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="coolhead-prometheus-")
        _made_directory.append(os.environ["PROMETHEUS_MULTIPROC_DIR"])
        return
    Path(directory).mkdir(parents=True, exist_ok=True)
    for stale in Path(directory).glob("*.db"):
        stale.unlink()


def child_exit(server, worker) -> None:
    # Imported here, not at the top: prometheus-client picks its multiprocess
    # mode when first imported, which must come after on_starting set the variable.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    for directory in _made_directory:
        shutil.rmtree(directory, ignore_errors=True)


def post_worker_init(worker) -> None:
    import logging

    from config.secret_logs import SecretLinkFilter

    logging.getLogger("uvicorn.access").addFilter(SecretLinkFilter())

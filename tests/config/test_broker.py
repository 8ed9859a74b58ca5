"""The embedded mode's filesystem broker keeps all its state under the run directory."""

import runpy
from pathlib import Path

from django.conf import settings
from kombu import Connection, Exchange, Queue


def test_it_keeps_the_broker_folders_under_the_run_directory(monkeypatch, tmp_path):
    run_dir = tmp_path / "run"
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("COOLHEAD_RUN_DIR", str(run_dir))
    monkeypatch.chdir(workdir)

    # A fresh run of the module's code, leaving the settings in use alone.
    embedded = runpy.run_path(str(settings.BASE_DIR / "config" / "settings.py"))

    options = embedded["CELERY_BROKER_TRANSPORT_OPTIONS"]
    assert embedded["CELERY_BROKER_URL"] == "filesystem://"
    assert options["control_folder"] == str(run_dir / "broker-control")
    for name in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        assert Path(options[name]).is_dir(), name

    # What a worker and an enqueue do: bind a queue to an exchange, publish, consume.
    exchange = Exchange("celery", type="direct")
    queue = Queue("celery", exchange, routing_key="celery")
    with Connection(embedded["CELERY_BROKER_URL"], transport_options=options) as connection:
        connection.Producer().publish({"n": 1}, exchange=exchange, routing_key="celery", declare=[queue])
        message = connection.SimpleQueue(queue).get(timeout=5)
        assert message.payload == {"n": 1}
        message.ack()

    assert (run_dir / "broker-control" / "celery.exchange").is_file()
    assert list(workdir.iterdir()) == []

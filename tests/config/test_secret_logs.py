"""Links that act for one person (acknowledge, confirm, unsubscribe, reset) never reach a log.

Django logs the path of every 4xx answer: someone else opening a page's
acknowledge link (a 403) would write the working link to the log.
"""

import io
import logging
import runpy
from datetime import timedelta
from pathlib import Path

import pytest
from gunicorn.config import Config
from gunicorn.util import load_class

from config.secret_logs import AccessLogger, mask_secret_links
from roles.services import page_ack_url, page_send
from tests.factories import IncidentFactory, UserFactory


@pytest.fixture
def console():
    """What the portal's configured console handler writes (settings.LOGGING)."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def test_a_forbidden_ack_link_is_logged_without_its_token(
    client, db, console, django_capture_on_commit_callbacks
):
    paged, other = UserFactory(), UserFactory()
    incident = IncidentFactory(declared_by=other)
    with django_capture_on_commit_callbacks():
        page = page_send(incident=incident, by=other, person=paged)
    link = page_ack_url(page=page, user=paged)
    token = link.rstrip("/").rsplit("/", 1)[-1]

    client.force_login(other)
    assert client.get(link).status_code == 403
    written = console.getvalue()
    assert "Forbidden" in written and "/pages/ack/[secret]/" in written
    assert token not in written


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        ("GET /roles/pages/ack/eyJhIjoxfQ:1vQ:sig/ HTTP/1.1", "GET /roles/pages/ack/[secret]/ HTTP/1.1"),
        ("POST /status/unsubscribe/Zx_9-token HTTP/1.1", "POST /status/unsubscribe/[secret] HTTP/1.1"),
        ("/status/subscribe/confirm/abc123/?x=1", "/status/subscribe/confirm/[secret]/?x=1"),
        ("/accounts/password/reset/key/1a-c9v2-5f0e/", "/accounts/password/reset/key/[secret]/"),
        ("/accounts/confirm-email/MQ:1vQ:abc/", "/accounts/confirm-email/[secret]/"),
        ("/incidents/42/ and /status/subscribe/", "/incidents/42/ and /status/subscribe/"),
    ],
)
def test_secret_paths_are_masked(line, masked):
    assert mask_secret_links(line) == masked


def test_gunicorn_writes_its_access_log_through_the_masking_logger(tmp_path):
    # The image runs gunicorn in the repository's root, where gunicorn.conf.py is read by default.
    conf = runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))
    assert load_class(conf["logger_class"], section="gunicorn.loggers") is AccessLogger

    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    logger = AccessLogger(cfg)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/status/unsubscribe/TOKEN-FROM-THE-MAIL/",
        "PATH_INFO": "/status/unsubscribe/TOKEN-FROM-THE-MAIL/",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.7",
        "HTTP_REFERER": "https://status.example/status/subscribe/confirm/OTHER-TOKEN/",
    }
    response = type("Response", (), {"status": "200 OK", "sent": 10, "headers": []})()
    logger.access(response, [], environ, timedelta(milliseconds=5))
    for handler in logger.access_log.handlers:
        handler.flush()
    written = (tmp_path / "access.log").read_text()
    assert "GET /status/unsubscribe/[secret]/ HTTP/1.1" in written
    assert "TOKEN-FROM-THE-MAIL" not in written and "OTHER-TOKEN" not in written

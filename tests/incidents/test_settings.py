"""Settings come from the environment and a bad value stops the process with a message naming it."""

import os
import runpy
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str, env_url


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("true", True), (" TRUE ", True), ("yes", True), ("on", True)]
    + [("0", False), ("false", False), ("No", False), ("off", False), ("", False)],
)
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("COOLHEAD_FLAG", raw)
    assert env_bool("COOLHEAD_FLAG", not expected) is expected


@pytest.mark.parametrize("raw", ["maybe", "2", "tru", "enabled"])
def test_env_bool_refuses_anything_else(monkeypatch, raw):
    monkeypatch.setenv("COOLHEAD_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match=f"COOLHEAD_FLAG must be a boolean .* not '{raw}'"):
        env_bool("COOLHEAD_FLAG", False)


def test_env_bool_default(monkeypatch):
    monkeypatch.delenv("COOLHEAD_FLAG", raising=False)
    assert env_bool("COOLHEAD_FLAG", True) is True


def test_env_int(monkeypatch):
    monkeypatch.delenv("COOLHEAD_N", raising=False)
    assert env_int("COOLHEAD_N", 7) == 7
    monkeypatch.setenv("COOLHEAD_N", "42")
    assert env_int("COOLHEAD_N", 7, minimum=1) == 42


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("4.2", "COOLHEAD_N must be a whole number, not '4.2'"),
        ("abc", "COOLHEAD_N must be a whole number, not 'abc'"),
        ("", "COOLHEAD_N must be a whole number, not ''"),
        ("0", "COOLHEAD_N must be at least 1, not 0"),
        ("-5", "COOLHEAD_N must be at least 1, not -5"),
    ],
)
def test_env_int_refuses_bad_numbers(monkeypatch, raw, message):
    monkeypatch.setenv("COOLHEAD_N", raw)
    with pytest.raises(ImproperlyConfigured) as refused:
        env_int("COOLHEAD_N", 7, minimum=1)
    assert str(refused.value) == message


def test_env_str_and_env_list(monkeypatch):
    monkeypatch.delenv("COOLHEAD_S", raising=False)
    with pytest.raises(ImproperlyConfigured, match="COOLHEAD_S must be set"):
        env_str("COOLHEAD_S")
    assert env_str("COOLHEAD_S", "d") == "d"
    monkeypatch.setenv("COOLHEAD_S", " a.example.com, ,b.example.com ")
    assert env_list("COOLHEAD_S", []) == ["a.example.com", "b.example.com"]


@pytest.mark.parametrize(
    "raw",
    [
        "https://status.example.com",
        "http://127.0.0.1:8000",
        "redis://127.0.0.1:6379/4",
        "unix:///run/redis.sock",
    ],
)
def test_env_url_accepts_urls(monkeypatch, raw):
    monkeypatch.setenv("COOLHEAD_URL", raw)
    assert env_url("COOLHEAD_URL", "", schemes={"http", "https", "redis", "unix"}) == raw


@pytest.mark.parametrize(
    "raw",
    [
        "ftp://files.example.com",
        "example.com",
        "127.0.0.1:8000",
        " https://example.com",
        "https://",
        "https:example.com",
        "http://example.com:port",
        "http://example.com:99999",
    ],
)
def test_env_url_refuses_what_is_not_a_url_of_the_right_kind(monkeypatch, raw):
    monkeypatch.setenv("COOLHEAD_URL", raw)
    with pytest.raises(ImproperlyConfigured, match="COOLHEAD_URL must be"):
        env_url("COOLHEAD_URL", "", schemes={"http", "https"})


def test_env_url_default_may_be_empty(monkeypatch):
    monkeypatch.delenv("COOLHEAD_URL", raising=False)
    assert env_url("COOLHEAD_URL", "", schemes={"redis"}) == ""


# --- The settings module as a whole -----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be a boolean"),
        ("TIME_ZONE", "Mars/Olympus_Mons", "TIME_ZONE must be an IANA zone name"),
        ("SITE_URL", "coolhead.example.com", "SITE_URL must be a URL"),
        ("REDIS_URL", "http://127.0.0.1:6379", "REDIS_URL must be a URL"),
        ("DATABASE_URL", "nosuchdb://x", "DATABASE_URL is not a database URL"),
        ("INCIDENT_ROOM_POLL_MS", "10", "INCIDENT_ROOM_POLL_MS must be at least 250"),
        ("EMAIL_PORT", "smtp", "EMAIL_PORT must be a whole number"),
    ],
)
def test_the_settings_refuse_a_bad_value(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    if name == "EMAIL_PORT":
        monkeypatch.setenv("EMAIL_HOST", "smtp.example.com")
    # A fresh run of the module's code, leaving the settings in use alone.
    with pytest.raises(ImproperlyConfigured, match=message):
        runpy.run_path(str(settings.BASE_DIR / "config" / "settings.py"))


def _run_django(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env}
    return subprocess.run(
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = _run_django(
        {"DJANGO_SETTINGS_MODULE": "config.settings", "COOLHEAD_RUN_DIR": str(tmp_path)},
        "-c",
        "import django; django.setup()",
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set" in result.stderr


def test_production_refuses_the_development_key(tmp_path):
    result = _run_django(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "COOLHEAD_RUN_DIR": str(tmp_path),
            "SECRET_KEY": "coolhead-insecure-development-key-never-use-in-production-0123456789",
        },
        "-c",
        "import django; django.setup()",
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set to a secret value when DEBUG is off" in result.stderr


def test_manage_py_alone_runs_in_development_mode(tmp_path):
    # Developer commands (makemigrations, shell) work with nothing set...
    result = _run_django({"COOLHEAD_RUN_DIR": str(tmp_path)}, "manage.py", "check")
    assert result.returncode == 0, result.stdout + result.stderr
    # (gunicorn and Celery, outside manage.py, still refuse: the test above.)


def _deploy_check(tmp_path, **env: str) -> subprocess.CompletedProcess:
    production = {
        # As docker-compose.yml sets it: manage.py alone defaults to DEBUG=1.
        "DEBUG": "0",
        "SECRET_KEY": "k3y-" + "x7Qp9!vLm2#Rt8@Wz" * 4,
        "ALLOWED_HOSTS": "coolhead.example.com",
        "SITE_URL": "https://coolhead.example.com",
        "COOLHEAD_RUN_DIR": str(tmp_path),
    }
    return _run_django({**production, **env}, "manage.py", "check", "--deploy", "--fail-level", "WARNING")


def test_production_settings_pass_the_deploy_check(tmp_path):
    # What the README promises: DEBUG=0, SECRET_KEY, an https SITE_URL, ALLOWED_HOSTS and EMAIL_HOST.
    result = _deploy_check(tmp_path, EMAIL_HOST="smtp.example.com")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_deploy_check_needs_an_email_host(tmp_path):
    # Without EMAIL_HOST, mail goes to the console backend, which is for development only.
    result = _deploy_check(tmp_path)
    assert result.returncode != 0
    assert "(mail.E001)" in result.stderr

"""Redis down (connection refused) or frozen (it accepts and never answers): the cache fails fast.

A frozen Redis is played by a TCP socket that listens and never replies, which
is what a SIGSTOPped redis-server looks like from the client; a stopped one by
a port nobody listens on. The real thing is in tests/drills.
"""

import socket
import threading
import time

import pytest
from django.core.cache import caches

from config import cache as resilient
from config.cache import CacheUnavailable, ResilientRedisCache
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


@pytest.fixture
def silent_server():
    """Accepts connections (the kernel does, for a frozen process too) and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    server.close()


@pytest.fixture
def refused_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"  # nobody listens there any more


@pytest.fixture(autouse=True)
def no_outage_left_behind():
    from config.sessions import pending_deletes

    resilient.outage._down_until.clear()
    yield
    resilient.outage._down_until.clear()
    with pending_deletes._lock:
        pending_deletes._keys.clear()


def _cache(url: str, **options) -> ResilientRedisCache:
    return ResilientRedisCache(
        url,
        {
            "OPTIONS": {
                "socket_connect_timeout": 0.3,
                "socket_timeout": 0.3,
                "DOWN_RETRY_SECONDS": 30,
                "LOCAL_WHEN_DOWN_KEY_PREFIXES": ["allauth:"],
                **options,
            }
        },
    )


def _timed(call):
    started = time.monotonic()
    try:
        call()
    except CacheUnavailable:
        return time.monotonic() - started
    raise AssertionError("the call should have failed")


def test_a_frozen_redis_costs_one_timeout_then_calls_fail_at_once(silent_server):
    cache = _cache(silent_server)
    first = _timed(lambda: cache.get("room"))
    assert 0.2 < first < 2  # the read timeout, not minutes
    later = [
        _timed(lambda: cache.get("room")),
        _timed(lambda: cache.set("x", 1)),
        _timed(lambda: cache.get_many(["a"])),
    ]
    assert all(t < 0.05 for t in later), later


def test_a_stopped_redis_fails_at_once(refused_url):
    cache = _cache(refused_url)
    assert _timed(lambda: cache.get("room")) < 0.5
    assert _timed(lambda: cache.delete("room")) < 0.05


def test_after_the_pause_redis_is_tried_again(refused_url):
    cache = _cache(refused_url, DOWN_RETRY_SECONDS=1)
    attempts = []
    real_get = ResilientRedisCache.__mro__[1].get

    def counting_get(self, *args, **kwargs):
        attempts.append(1)
        return real_get(self, *args, **kwargs)

    ResilientRedisCache.__mro__[1].get = counting_get
    try:
        for _ in range(3):
            _timed(lambda: cache.get("room"))
        assert len(attempts) == 1
        time.sleep(1.1)
        _timed(lambda: cache.get("room"))
        assert len(attempts) == 2
    finally:
        ResilientRedisCache.__mro__[1].get = real_get


def test_rate_limit_keys_are_counted_in_this_process_while_redis_is_down(refused_url):
    cache = _cache(refused_url)
    assert cache.add("allauth:rl:login:lock", True, timeout=10) is True
    assert cache.add("allauth:rl:login:lock", True, timeout=10) is False  # atomic add, per process
    cache.set("allauth:rl:login", [1.0, 2.0], 60)
    assert cache.get("allauth:rl:login", []) == [1.0, 2.0]
    cache.delete("allauth:rl:login:lock")
    assert cache.get("allauth:rl:login:lock") is None
    with pytest.raises(CacheUnavailable):
        cache.get("incident-room:1")  # everything else still says the cache is down


@pytest.fixture
def redis_down(settings, refused_url):
    """The whole portal's cache is a Redis that refuses connections."""
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": refused_url,
            "OPTIONS": {
                "socket_connect_timeout": 0.3,
                "socket_timeout": 0.3,
                "DOWN_RETRY_SECONDS": 5,
                # As config/settings.py has them.
                "LOCAL_WHEN_DOWN_KEY_PREFIXES": ["allauth:", "statuspage:subscribe-rate:"],
            },
        }
    }
    yield


def test_signing_in_works_while_redis_is_down(client, db, redis_down):
    person = UserFactory(email="iris@example.com")
    response = client.post("/accounts/login/", {"login": "iris@example.com", "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    assert int(client.session["_auth_user_id"]) == person.pk
    assert client.get("/").status_code == 200


def test_failed_sign_ins_are_still_limited_while_redis_is_down(client, db, redis_down, settings):
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "3/m/ip"}
    UserFactory(email="iris@example.com")
    answers = [
        client.post("/accounts/login/", {"login": "iris@example.com", "password": "wrong"}).status_code
        for _ in range(5)
    ]
    assert 500 not in answers
    # allauth answers a limited sign-in with the form and an error, or with 429.
    limited = client.post("/accounts/login/", {"login": "iris@example.com", "password": "wrong"})
    assert limited.status_code in (200, 429)
    assert b"Too many" in limited.content or limited.status_code == 429


def test_the_status_page_still_limits_subscribing_while_redis_is_down(
    client, db, redis_down, settings, tmp_path, django_capture_on_commit_callbacks
):
    from statuspage.models import PageSettings, Subscriber

    settings.STATUSPAGE_SNAPSHOT_DIR = tmp_path
    settings.STATUSPAGE_SUBSCRIBE_LIMIT = 2
    PageSettings.objects.create(pk=1, name="Acme", url="https://status.acme.test")

    def subscribe(email):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                "/status/subscribe/", {"kind": "email", "email": email}, REMOTE_ADDR="203.0.113.7"
            )

    assert [subscribe(f"a{n}@example.com").status_code for n in range(3)] == [200, 200, 429]
    assert Subscriber.objects.count() == 2


class _Switch:
    down = False


class SwitchableCache:
    """A cache that works until the test says it is down (then every call raises, like Redis)."""

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        attribute = getattr(self._real, name)
        if not callable(attribute):
            return attribute

        def call(*args, **kwargs):
            if _Switch.down:
                raise CacheUnavailable("down for the test")
            return attribute(*args, **kwargs)

        return call

    def __contains__(self, key):
        if _Switch.down:
            raise CacheUnavailable("down for the test")
        return key in self._real


@pytest.fixture
def switchable_cache(monkeypatch):
    """The session store's cache, switchable; the locmem cache behind it is shared by the 'processes'."""
    from config import sessions

    real = caches["default"]
    monkeypatch.setattr(sessions.cached_db, "caches", {"default": SwitchableCache(real)})
    monkeypatch.setattr(sessions, "caches", {"default": SwitchableCache(real)})
    _Switch.down = False
    yield real
    _Switch.down = False


def _signed_in_cookie(client, person) -> str:
    client.post("/accounts/login/", {"login": person.email, "password": PASSWORD})
    return client.cookies["sessionid"].value


def _is_signed_in(client, cookie: str) -> bool:
    client.cookies["sessionid"] = cookie
    return client.get("/").status_code == 200


def _wait_for(predicate, timeout=5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_a_sign_out_while_redis_is_down_stays_signed_out_when_it_comes_back(
    client, db, switchable_cache, settings
):
    from config.sessions import SessionStore, pending_deletes

    person = UserFactory(email="iris@example.com")
    cookie = _signed_in_cookie(client, person)
    cache_key = SessionStore.cache_key_prefix + cookie
    assert switchable_cache.get(cache_key) is not None  # the session is cached

    _Switch.down = True
    assert client.post("/accounts/logout/").status_code == 302
    assert cache_key in pending_deletes  # the cache could not be told
    assert not _is_signed_in(client, cookie)  # while down: the database says no

    _Switch.down = False
    # The stale copy is deleted in the background as soon as the cache answers...
    assert _wait_for(lambda: switchable_cache.get(cache_key) is None)
    assert cache_key not in pending_deletes
    # ...so the old cookie does not work again, in this process or any other.
    assert not _is_signed_in(client, cookie)


def test_a_stale_cached_session_is_checked_against_the_database(client, db, switchable_cache, settings):
    """The process that signed out died before Redis came back: the copy's age catches it."""
    from config.sessions import SessionStore, pending_deletes

    settings.SESSION_CACHE_VERIFY_SECONDS = 1
    person = UserFactory(email="iris@example.com")
    cookie = _signed_in_cookie(client, person)
    cache_key = SessionStore.cache_key_prefix + cookie
    stale = switchable_cache.get(cache_key)

    _Switch.down = True
    client.post("/accounts/logout/")
    with pending_deletes._lock:
        pending_deletes._keys.discard(cache_key)  # that process is gone, and what it remembered
    _Switch.down = False
    switchable_cache.set(cache_key, stale, 3600)  # the copy Redis still holds

    time.sleep(1.1)
    assert not _is_signed_in(client, cookie)
    assert switchable_cache.get(cache_key) is None


def test_a_quiet_poll_of_a_fresh_session_still_costs_no_session_query(client, db, switchable_cache):
    person = UserFactory(email="iris@example.com")
    cookie = _signed_in_cookie(client, person)
    store = __import__("config.sessions", fromlist=["SessionStore"]).SessionStore(cookie)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert store.load()["_auth_user_id"] == str(person.pk)
    assert len(queries) == 0


def test_signing_in_while_the_cache_is_down_is_read_from_the_database(client, db, switchable_cache):
    person = UserFactory(email="iris@example.com")
    _Switch.down = True
    response = client.post("/accounts/login/", {"login": person.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    _Switch.down = False
    assert client.get("/").status_code == 200


def test_the_background_retry_does_not_pile_up_threads(db, switchable_cache):
    from config.sessions import pending_deletes

    _Switch.down = True
    for n in range(20):
        pending_deletes.add(f"k{n}")
    alive = [t for t in threading.enumerate() if t.name == "session-cache-deletes"]
    assert len(alive) == 1
    _Switch.down = False
    assert _wait_for(lambda: not pending_deletes._keys)


def test_readyz_asks_redis_itself_not_the_pause(refused_url):
    """The probe goes to Redis even while this process has stopped trying (so readiness is current)."""
    cache = _cache(refused_url)
    _timed(lambda: cache.get("room"))  # Redis is down: the pause begins
    attempts = []
    real_get = ResilientRedisCache.__mro__[1].get

    def counting_get(self, *args, **kwargs):
        attempts.append(1)
        return real_get(self, *args, **kwargs)

    ResilientRedisCache.__mro__[1].get = counting_get
    try:
        with pytest.raises(CacheUnavailable):
            cache.probe()
    finally:
        ResilientRedisCache.__mro__[1].get = real_get
    assert attempts == [1]

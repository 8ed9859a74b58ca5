from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache

from config.celery import app as celery_app

# --- The clock moved ahead (make test-future) -------------------------------------------------
# A test that pins a calendar date but reads something written at the real clock passes
# until the real date overtakes it, then fails for everyone. Running the suite with the
# process's clock far ahead makes such a test fail today. Tests whose result depends on a
# clock outside this process (a real Celery worker, the browser) are marked `realclock`:
# time-machine moves only this process's clock.

_clock_ahead = pytest.StashKey[time_machine.travel]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock-ahead-days",
        type=int,
        default=0,
        metavar="N",
        help="run the tests with this process's clock moved N days ahead (ticking); "
        "tests marked realclock are skipped",
    )


def pytest_configure(config: pytest.Config) -> None:
    days = config.getoption("clock_ahead_days")
    if days:
        # Before collection, so even a test module's import-time `now` is the moved one,
        # and for the whole session: the test database and every fixture live at that time.
        traveller = time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True)
        traveller.start()
        config.stash[_clock_ahead] = traveller


def pytest_unconfigure(config: pytest.Config) -> None:
    traveller = config.stash.get(_clock_ahead, None)
    if traveller is not None:
        traveller.stop()


def pytest_report_header(config: pytest.Config) -> str | None:
    days = config.getoption("clock_ahead_days")
    if days:
        return f"clock: moved {days} days ahead, to {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("clock_ahead_days"):
        return
    skip = pytest.mark.skip(reason="another process of this test runs on the real clock, which is not moved")
    for item in items:
        if item.get_closest_marker("realclock"):
            item.add_marker(skip)


def _clear_cache() -> None:
    # RedisCache.clear() is FLUSHDB, which would also wipe the Celery broker's
    # keys in the same database; delete only the cache's own keys.
    backend = type(cache).__name__
    if backend == "RedisCache":
        client = cache._cache.get_client(write=True)
        prefix = cache.key_prefix
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def fresh_cache():
    _clear_cache()
    yield


@pytest.fixture(autouse=True)
def eager_celery():
    """Tasks run in-process unless a test starts a real worker (see tests/comms)."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def user(db):
    from tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def admin_user(db):
    from tests.factories import UserFactory

    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def outsider(db):
    """Signed in, active, not staff, and taking part in nothing: restricted incidents are not theirs."""
    from tests.factories import UserFactory

    return UserFactory(first_name="Otto", last_name="Outsider")


@pytest.fixture
def staff_user(db):
    from tests.factories import UserFactory

    return UserFactory(first_name="Stan", last_name="Staff", is_staff=True)


@pytest.fixture
def responder_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The default PBKDF2 costs about a second per user on these machines; every
    # factory user pays it. Tests check who may log in, not the hash's strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

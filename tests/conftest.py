import pytest
from django.core.cache import cache

from config.celery import app as celery_app


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

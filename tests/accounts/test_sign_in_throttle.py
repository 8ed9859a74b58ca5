"""Failed sign-ins lock out one account from one address, never the account from everywhere.

Through the real sign-in forms: allauth's at /accounts/login/, and the admin's,
which hands over to it.
"""

import time

import pytest

from tests.factories import UserFactory
from tests.incidents.pages import text_of

PASSWORD = "correct horse battery staple"
ATTACKER = "203.0.113.66"
COMMANDER_LAPTOP = "198.51.100.7"
LOCKED = "Too many failed"  # allauth's words and ours


@pytest.fixture
def commander(db):
    return UserFactory(email="ic@example.com", first_name="Iris", last_name="Commander")


@pytest.fixture(autouse=True)
def limit(settings):
    settings.ACCOUNTS_SIGN_IN_FAILURE_LIMIT = 5
    return 5


def sign_in(client, email, password, address, url="/accounts/login/", forwarded_for=None, **extra):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    return client.post(url, {"login": email, "password": password, **extra}, REMOTE_ADDR=address, **headers)


def signed_in_as(client):
    return client.session.get("_auth_user_id")


def fail(client, email, address, times, url="/accounts/login/"):
    for _ in range(times):
        response = sign_in(client, email, "not the password", address, url)
        assert response.status_code == 200 and LOCKED not in text_of(response)


def test_failures_from_one_address_lock_that_address_out_of_that_account(client, commander, limit):
    fail(client, "ic@example.com", ATTACKER, limit)
    response = sign_in(client, "ic@example.com", PASSWORD, ATTACKER)
    assert response.status_code == 200 and LOCKED in text_of(response)
    assert signed_in_as(client) is None


def test_the_right_password_from_another_address_still_works(client, commander, limit):
    fail(client, "ic@example.com", ATTACKER, limit)
    for _ in range(3):  # the attacker keeps trying: still refused, and nothing spills over
        assert LOCKED in text_of(sign_in(client, "ic@example.com", "guess", ATTACKER))
    response = sign_in(client, "ic@example.com", PASSWORD, COMMANDER_LAPTOP)
    assert response.status_code == 302
    assert int(signed_in_as(client)) == commander.pk


def test_the_locked_address_may_still_sign_in_to_other_accounts(client, commander, limit):
    other = UserFactory(email="deputy@example.com")
    fail(client, "ic@example.com", ATTACKER, limit)
    assert sign_in(client, "deputy@example.com", PASSWORD, ATTACKER).status_code == 302
    assert int(signed_in_as(client)) == other.pk


def test_the_account_is_matched_without_regard_to_case(client, commander, limit):
    fail(client, "IC@Example.com", ATTACKER, limit)
    assert LOCKED in text_of(sign_in(client, "ic@example.com", PASSWORD, ATTACKER))


def test_an_ipv6_client_is_counted_by_its_64_prefix(client, commander, limit):
    for n in range(limit):
        sign_in(client, "ic@example.com", "wrong", f"2001:db8:1:2::{n + 1:x}")
    assert LOCKED in text_of(sign_in(client, "ic@example.com", PASSWORD, "2001:db8:1:2::ffff"))
    assert sign_in(client, "ic@example.com", PASSWORD, "2001:db8:1:3::1").status_code == 302


def test_behind_a_proxy_the_forwarded_client_address_counts(client, commander, limit, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    for _ in range(limit):
        sign_in(client, "ic@example.com", "wrong", proxy, forwarded_for=ATTACKER)
    assert LOCKED in text_of(sign_in(client, "ic@example.com", PASSWORD, proxy, forwarded_for=ATTACKER))
    response = sign_in(client, "ic@example.com", PASSWORD, proxy, forwarded_for=COMMANDER_LAPTOP)
    assert response.status_code == 302


def test_only_failures_count(client, commander, limit):
    fail(client, "ic@example.com", COMMANDER_LAPTOP, limit - 1)
    for _ in range(3):
        assert sign_in(client, "ic@example.com", PASSWORD, COMMANDER_LAPTOP).status_code == 302
        client.post("/accounts/logout/")
    fail(client, "ic@example.com", COMMANDER_LAPTOP, 1)
    assert LOCKED in text_of(sign_in(client, "ic@example.com", PASSWORD, COMMANDER_LAPTOP))


def test_the_lock_expires(client, commander, limit, settings):
    settings.ACCOUNTS_SIGN_IN_LOCK_SECONDS = 1
    fail(client, "ic@example.com", ATTACKER, limit)
    assert LOCKED in text_of(sign_in(client, "ic@example.com", PASSWORD, ATTACKER))
    time.sleep(1.2)  # the cache's own expiry (Redis or in-memory): no clock to move
    assert sign_in(client, "ic@example.com", PASSWORD, ATTACKER).status_code == 302
    assert int(signed_in_as(client)) == commander.pk


# --- The admin's sign-in ------------------------------------------------------------------------


def test_the_admin_login_form_hands_over_to_the_portals_sign_in(client, db):
    UserFactory(email="root@example.com", username="root", is_staff=True, is_superuser=True)
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/?next=%2Fadmin%2F"
    assert 'name="login"' in response.content.decode()
    # Its own password form is gone: a post with the right password signs nobody in.
    response = client.post("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].startswith("/accounts/login/")
    assert signed_in_as(client) is None


def test_admin_sign_in_is_throttled_the_same_way(client, db, limit):
    root = UserFactory(email="root@example.com", username="root", is_staff=True, is_superuser=True)
    url = client.get("/admin/login/?next=/admin/").headers["Location"]
    fail(client, "root@example.com", ATTACKER, limit, url=url)
    assert LOCKED in text_of(sign_in(client, "root@example.com", PASSWORD, ATTACKER, url=url, next="/admin/"))
    assert signed_in_as(client) is None

    response = sign_in(client, "root@example.com", PASSWORD, COMMANDER_LAPTOP, url=url, next="/admin/")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert int(signed_in_as(client)) == root.pk
    assert client.get("/admin/").status_code == 200
    # Signed in, the admin's login page sends staff on to the admin.
    assert client.get("/admin/login/").headers["Location"] == "/admin/"


def test_a_signed_in_responder_is_told_the_admin_is_not_theirs(client, commander):
    client.force_login(commander)
    assert client.get("/admin/login/?next=/admin/").status_code == 403
    assert client.get("/admin/", follow=True).status_code == 403


# --- The cache fails ------------------------------------------------------------------------------


class BrokenCache:
    """Redis down: every call raises, as redis-py does."""

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

        return fail


def test_when_the_cache_fails_sign_in_works_with_a_limit_per_process(client, commander, limit, monkeypatch):
    from accounts import throttle

    monkeypatch.setattr(throttle, "cache", BrokenCache())
    throttle._process_slots.clear()
    assert sign_in(client, "ic@example.com", PASSWORD, COMMANDER_LAPTOP).status_code == 302
    client.post("/accounts/logout/")
    fail(client, "ic@example.com", ATTACKER, limit)
    assert LOCKED in text_of(sign_in(client, "ic@example.com", PASSWORD, ATTACKER))
    assert sign_in(client, "ic@example.com", PASSWORD, COMMANDER_LAPTOP).status_code == 302
    throttle._process_slots.clear()

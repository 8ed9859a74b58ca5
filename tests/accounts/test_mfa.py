"""Two-factor authentication (allauth's MFA), mandatory for administrators when the setting is on."""

import base64
import hashlib
import hmac
import struct
import time
from datetime import UTC, datetime

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


def totp_code(secret: str, at: float | None = None) -> str:
    """RFC 6238, as an authenticator app computes it (SHA-1, 30 s, 6 digits)."""
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(
        base64.b32decode(secret, casefold=True), struct.pack(">Q", counter), hashlib.sha1
    ).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


@pytest.fixture
def clock():
    """The test's own clock, ticking, from its first fixture on: codes belong to 30-second periods."""
    with time_machine.travel(datetime(2026, 12, 2, 10, 0, 5, tzinfo=UTC), tick=True) as traveller:
        yield traveller


@pytest.fixture
def required(settings):
    settings.ACCOUNTS_MFA_REQUIRED_FOR_ADMINS = True


def sign_in(client: Client, email: str):
    return client.post(reverse("account_login"), {"login": email, "password": PASSWORD})


def reauthenticate(client: Client):
    """allauth asks for the password again before a second factor is added."""
    answer = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert answer.status_code == 302, answer.content


@pytest.mark.usefixtures("clock", "required")
def test_an_admin_without_a_second_factor_can_only_set_one_up(client, db):
    UserFactory(username="root", email="root@example.com", is_staff=True, is_superuser=True)
    assert sign_in(client, "root@example.com").status_code == 302
    for url in (reverse("dashboard"), reverse("admin:index"), reverse("roles:oncall")):
        answer = client.get(url)
        assert answer.status_code == 302 and answer["Location"] == reverse("mfa_index"), url
    assert client.get("/api/v1/incidents/").status_code == 403
    assert client.get(reverse("mfa_index")).status_code == 200
    assert client.get(reverse("mfa_activate_totp"))["Location"].startswith(reverse("account_reauthenticate"))
    reauthenticate(client)
    assert client.get(reverse("mfa_activate_totp")).status_code == 200


@pytest.mark.usefixtures("clock", "required")
def test_a_responder_is_not_asked(client, db):
    UserFactory(username="resp", email="resp@example.com")
    sign_in(client, "resp@example.com")
    assert client.get(reverse("dashboard")).status_code == 200


@pytest.mark.usefixtures("required")
def test_an_admin_sets_up_totp_and_is_then_asked_for_a_code_at_every_sign_in(client, db, clock):
    UserFactory(username="root", email="root@example.com", is_staff=True, is_superuser=True)
    sign_in(client, "root@example.com")
    reauthenticate(client)
    page = client.get(reverse("mfa_activate_totp"))
    secret = page.context["form"].secret
    answer = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert answer.status_code == 302
    assert Authenticator.objects.filter(type=Authenticator.Type.TOTP).exists()
    assert client.get(reverse("admin:index")).status_code == 200
    client.post(reverse("account_logout"))

    clock.shift(60)  # a new code period: a code is good once
    browser = Client()
    answer = sign_in(browser, "root@example.com")
    assert answer.status_code == 302 and answer["Location"] == reverse("mfa_authenticate")
    # The password alone signed nobody in.
    assert browser.get(reverse("dashboard")).status_code == 302
    assert browser.post(reverse("mfa_authenticate"), {"code": "000000"}).status_code == 200
    assert browser.get(reverse("admin:index")).status_code == 302
    answer = browser.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert answer.status_code == 302
    assert browser.get(reverse("admin:index")).status_code == 200


@pytest.mark.usefixtures("clock")
def test_with_the_setting_off_an_admin_is_not_forced(client, db, settings):
    settings.ACCOUNTS_MFA_REQUIRED_FOR_ADMINS = False
    UserFactory(username="root", email="root@example.com", is_staff=True, is_superuser=True)
    sign_in(client, "root@example.com")
    assert client.get(reverse("admin:index")).status_code == 200

"""Single sign-on through OpenID Connect, against a real (small, local) provider that signs its tokens.

Nothing of allauth is mocked: the portal fetches the provider's discovery
document, exchanges the code (with the client secret and PKCE) and reads
userinfo over HTTP, as it would from Okta or Keycloak. The test plays the
browser: it follows the redirect to the provider and back.
"""

import logging
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from comms.models import Delivery, Message
from tests.accounts import oidc_provider
from tests.factories import UserFactory

User = get_user_model()
CLIENT_ID = "coolhead-portal"
SECRET = "oidc-client-secret-7Qm2vX9pLk4Rt8Zw"


@pytest.fixture
def idp(db, settings):
    provider = oidc_provider.start(CLIENT_ID, SECRET)
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [
                {
                    "provider_id": "sso",
                    "name": "Example SSO",
                    "client_id": CLIENT_ID,
                    "secret": SECRET,
                    "settings": {
                        "server_url": provider.issuer,
                        "scope": ["openid", "profile", "email"],
                        "verified_email": True,
                        "email_authentication": True,
                    },
                }
            ],
        }
    }
    settings.OIDC_ISSUER = provider.issuer
    settings.OIDC_CLIENT_SECRET = SECRET
    settings.OIDC_ALLOWED_EMAIL_DOMAINS = ["example.com"]
    settings.OIDC_CREATE_USERS = True
    yield provider
    oidc_provider.stop(provider)


def sso_sign_in(client: Client, idp, person: oidc_provider.Person, pages: list | None = None):
    """Press "Sign in with Example SSO", sign in at the provider, come back: the portal's answer."""
    idp.person = person
    login_page = client.get(reverse("account_login"))
    assert "Sign in with Example SSO" in login_page.content.decode()
    start = client.post(reverse("openid_connect_login", kwargs={"provider_id": "sso"}))
    assert start.status_code == 302, start.content
    authorize = urlparse(start["Location"])
    assert f"{authorize.scheme}://{authorize.netloc}" == idp.issuer
    query = parse_qs(authorize.query)
    assert query["code_challenge_method"] == ["S256"] and query["client_id"] == [CLIENT_ID]
    at_provider = requests.get(start["Location"], allow_redirects=False, timeout=5)
    assert at_provider.status_code == 302
    back = urlparse(at_provider.headers["Location"])
    answer = client.get(f"{back.path}?{back.query}")
    if pages is not None:
        pages += [login_page, start, answer]
    return answer


def signed_in_as(client: Client):
    response = client.get(reverse("dashboard"))
    if response.status_code != 200:
        return None
    return response.wsgi_request.user


def test_it_signs_a_new_person_in_through_the_provider(client, idp):
    answer = sso_sign_in(client, idp, oidc_provider.Person("u-1001", "nora.new@example.com", "Nora", "New"))
    assert answer.status_code == 302 and answer["Location"] == reverse("dashboard")
    user = User.objects.get(email="nora.new@example.com")
    assert (user.first_name, user.last_name) == ("Nora", "New")
    assert not user.has_usable_password()
    assert SocialAccount.objects.filter(user=user, provider="sso", uid="u-1001").exists()
    assert signed_in_as(client) == user
    # The token exchange went to the provider with PKCE.
    token_calls = [r for r in idp.requests if r[:2] == ("POST", "/token")]
    assert token_calls and "code_verifier" in token_calls[0][2]


def test_it_refuses_a_person_from_a_domain_that_is_not_allowed(client, idp):
    answer = sso_sign_in(client, idp, oidc_provider.Person("u-666", "mallory@evil.example.net", "Mallory"))
    assert answer.status_code == 403
    assert "at example.com" in answer.content.decode()
    assert not User.objects.filter(email="mallory@evil.example.net").exists()
    assert not SocialAccount.objects.exists()
    assert signed_in_as(client) is None


def test_a_subdomain_is_another_domain(client, idp):
    answer = sso_sign_in(client, idp, oidc_provider.Person("u-2", "eve@example.com.evil.net"))
    assert answer.status_code == 403
    assert signed_in_as(client) is None


def test_an_existing_person_is_signed_in_to_their_own_account(client, idp):
    ada = UserFactory(username="ada", email="ada@example.com", is_staff=True)
    answer = sso_sign_in(client, idp, oidc_provider.Person("u-ada", "ADA@example.com", "Ada"))
    assert answer.status_code == 302
    assert signed_in_as(client) == ada
    assert User.objects.filter(email__iexact="ada@example.com").count() == 1
    assert SocialAccount.objects.get(uid="u-ada").user == ada


def test_without_create_users_an_unknown_person_gets_no_account(client, idp, settings):
    settings.OIDC_CREATE_USERS = False
    answer = sso_sign_in(client, idp, oidc_provider.Person("u-3", "stranger@example.com"))
    assert answer.status_code == 200
    assert "No account here yet" in answer.content.decode()
    assert not User.objects.filter(email="stranger@example.com").exists()
    assert signed_in_as(client) is None
    # A person an administrator created signs in all the same.
    UserFactory(username="known", email="known@example.com")
    other = Client()
    assert sso_sign_in(other, idp, oidc_provider.Person("u-4", "known@example.com")).status_code == 302
    assert signed_in_as(other).email == "known@example.com"


def test_a_deactivated_person_cannot_sign_in_through_sso(client, idp):
    UserFactory(username="gone", email="gone@example.com", is_active=False)
    sso_sign_in(client, idp, oidc_provider.Person("u-5", "gone@example.com"))
    assert signed_in_as(client) is None


# --- SSO only, with a break-glass administrator ---------------------------------------------------


@pytest.fixture
def sso_only(idp, settings):
    settings.OIDC_SSO_ONLY = True
    settings.OIDC_BREAK_GLASS_EMAILS = ["root@example.com"]
    return idp


def _password_sign_in(client: Client, email: str):
    return client.post(reverse("account_login"), {"login": email, "password": "correct horse battery staple"})


def test_sso_only_refuses_passwords_except_the_break_glass_admin(client, sso_only):
    UserFactory(username="resp", email="responder@example.com")
    UserFactory(username="root", email="root@example.com", is_staff=True, is_superuser=True)
    UserFactory(username="admin2", email="admin2@example.com", is_staff=True, is_superuser=True)
    page = client.get(reverse("account_login")).content.decode()
    assert "Break-glass sign-in for administrators" in page
    for email in ("responder@example.com", "admin2@example.com"):
        answer = _password_sign_in(client, email)
        assert answer.status_code == 200
        assert "Passwords are switched off here" in answer.content.decode()
        assert signed_in_as(client) is None
    assert _password_sign_in(client, "root@example.com").status_code == 302
    assert signed_in_as(client).email == "root@example.com"
    # SSO itself still works for everyone else.
    other = Client()
    sso_sign_in(other, sso_only, oidc_provider.Person("u-r", "responder@example.com"))
    assert signed_in_as(other).email == "responder@example.com"


def test_sso_only_is_refused_without_a_break_glass_address(monkeypatch):
    import subprocess
    import sys

    env = {
        "OIDC_ISSUER": "https://idp.example.com",
        "OIDC_CLIENT_ID": "x",
        "OIDC_CLIENT_SECRET": "y",
        "OIDC_SSO_ONLY": "1",
        "DEBUG": "1",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; "
            "from django.conf import settings; settings.INSTALLED_APPS",
        ],
        env={**__import__("os").environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "OIDC_BREAK_GLASS_EMAILS" in result.stderr


# --- The client secret stays secret --------------------------------------------------------------


def test_the_oidc_secret_is_in_no_page_api_answer_log_line_or_outbox_row(client, idp, caplog, admin_user):
    caplog.set_level(logging.DEBUG)
    pages: list = []
    sso_sign_in(client, idp, oidc_provider.Person("u-9", "sam.secret@example.com", "Sam"), pages)
    pages += [client.get(reverse("dashboard")), client.get(reverse("socialaccount_connections"))]
    # A refused person and a failing token exchange (the provider rejects the client) too.
    sso_sign_in(Client(), idp, oidc_provider.Person("u-10", "x@not-allowed.example.org"), pages)
    idp.client_secret = "rotated-at-the-provider"
    pages.append(sso_sign_in(Client(), idp, oidc_provider.Person("u-11", "late@example.com")))
    # What an administrator sees: the admin's SSO pages, the outbox, the API.
    staff = Client()
    staff.force_login(admin_user)
    for url in (
        reverse("admin:socialaccount_socialapp_changelist"),
        reverse("admin:socialaccount_socialaccount_changelist"),
        reverse("admin:index"),
        reverse("outbox"),
        "/api/v1/schema/",
        "/api/v1/incidents/",
    ):
        pages.append(staff.get(url))
    assert all(p.status_code < 500 for p in pages)
    for page in pages:
        assert SECRET not in page.content.decode(errors="replace"), page.wsgi_request.path
        assert SECRET not in str(page.headers)
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert SECRET not in (record.exc_text or "")
    for message in Message.objects.all():
        assert SECRET not in " ".join(str(v) for v in message.__dict__.values())
    for delivery in Delivery.objects.all():
        assert SECRET not in " ".join(str(v) for v in delivery.__dict__.values())
    # The secret was used: the exchange that worked authenticated the client with it.
    assert User.objects.filter(email="sam.secret@example.com").exists()
    assert not User.objects.filter(email="late@example.com").exists()

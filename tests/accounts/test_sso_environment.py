"""Single sign-on is configured entirely from the OIDC_* environment variables: a fresh process
with them set has allauth's OpenID Connect provider as those variables say, and one without them
has none. The other SSO tests set the settings directly; these read them as production does."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Run in a new interpreter, so config/settings.py reads the environment afresh.
SCRIPT = """
import json
import django

django.setup()
from django.core.management import call_command

# A database of its own, in the test's temporary folder: the tables allauth reads apps from.
call_command("migrate", "socialaccount", verbosity=0)
from allauth.socialaccount.adapter import get_adapter
from django.conf import settings
from django.test import RequestFactory
from django.urls import reverse

from accounts.adapter import email_domain_allowed, password_sign_in_allowed

request = RequestFactory().get("/accounts/login/")
apps = get_adapter().list_apps(request, provider="openid_connect")
out = {"apps": [], "create_users": settings.OIDC_CREATE_USERS, "sso_only": settings.OIDC_SSO_ONLY}
for app in apps:
    provider = app.get_provider(request)
    out["apps"].append(
        {
            "provider_id": app.provider_id,
            "name": app.name,
            "client_id": app.client_id,
            "secret": app.secret,
            "server_url": app.settings["server_url"],
            "well_known": provider.server_url,
            "scope": provider.get_scope(),
            "pkce": bool(provider.get_pkce_params()),
            "login_url": reverse("openid_connect_login", kwargs={"provider_id": app.provider_id}),
            "callback_url": provider.get_callback_url(),
        }
    )
out["allowed"] = {
    email: email_domain_allowed(email)
    for email in ("ann@example.com", "bob@corp.example", "eve@evil.example", "sub@eu.example.com")
}


class Person:
    def __init__(self, email, is_superuser):
        self.email, self.is_superuser = email, is_superuser


out["password_sign_in"] = {
    "break-glass admin": password_sign_in_allowed(Person("root@example.com", True)),
    "responder": password_sign_in_allowed(Person("ann@example.com", False)),
}
from django.test import Client

out["login_page"] = Client().get("/accounts/login/").content.decode()
print("RESULT " + json.dumps(out))
"""


def _settings_with(env: dict[str, str], tmp_path: Path) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OIDC_")}
    clean["DATABASE_URL"] = f"sqlite:///{tmp_path / 'sso.sqlite3'}"
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def test_the_oidc_environment_variables_configure_the_provider(tmp_path):
    found = _settings_with(
        {
            "OIDC_ISSUER": "https://idp.example.com/realms/acme/",
            "OIDC_CLIENT_ID": "coolhead-portal",
            "OIDC_CLIENT_SECRET": "s3cret-from-the-env",
            "OIDC_PROVIDER_NAME": "Okta",
            "OIDC_SCOPES": "openid,email,profile,groups",
            "OIDC_ALLOWED_EMAIL_DOMAINS": "@Example.com, corp.example",
            "OIDC_CREATE_USERS": "1",
            "OIDC_SSO_ONLY": "1",
            "OIDC_BREAK_GLASS_EMAILS": "Root@Example.com",
        },
        tmp_path,
    )
    [app] = found["apps"]
    assert app["provider_id"] == "sso" and app["name"] == "Okta"
    assert app["client_id"] == "coolhead-portal" and app["secret"] == "s3cret-from-the-env"
    # The issuer without its trailing slash; allauth reads the provider's discovery document under it.
    assert app["server_url"] == "https://idp.example.com/realms/acme"
    assert app["well_known"] == "https://idp.example.com/realms/acme/.well-known/openid-configuration"
    assert app["scope"] == ["openid", "email", "profile", "groups"]
    assert app["pkce"] is True
    assert app["login_url"] == "/accounts/oidc/sso/login/"
    assert app["callback_url"] == "/accounts/oidc/sso/login/callback/"
    assert "Sign in with Okta" in found["login_page"] and "/accounts/oidc/sso/login/" in found["login_page"]
    assert "s3cret-from-the-env" not in found["login_page"]
    # Domains are matched exactly, in lower case, without the @.
    assert found["allowed"] == {
        "ann@example.com": True,
        "bob@corp.example": True,
        "eve@evil.example": False,
        "sub@eu.example.com": False,
    }
    assert found["create_users"] is True and found["sso_only"] is True
    assert found["password_sign_in"] == {"break-glass admin": True, "responder": False}


def test_without_an_issuer_there_is_no_sso_and_the_defaults_hold(tmp_path):
    found = _settings_with({}, tmp_path)
    assert found["apps"] == []
    assert "Sign in with" not in found["login_page"] and "/accounts/oidc/" not in found["login_page"]
    assert found["create_users"] is False and found["sso_only"] is False
    assert all(found["allowed"].values())  # no domain list: any address (there is no provider anyway)
    assert found["password_sign_in"] == {"break-glass admin": True, "responder": True}


def test_an_issuer_without_its_client_credentials_is_refused_at_start():
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OIDC_")}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "1",
            "OIDC_ISSUER": "https://idp.example.com",
            "OIDC_CLIENT_ID": "coolhead-portal",
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "OIDC_ISSUER needs OIDC_CLIENT_ID and OIDC_CLIENT_SECRET" in result.stderr

"""In a real Chromium with a virtual authenticator (the DevTools protocol's WebAuthn domain): a
person registers a security key through allauth's MFA pages, then signs in with their password
and the key.

WebAuthn needs a secure origin whose host is a domain: Chromium refuses an IP address as the
relying party's id, and fido2 accepts plain http only for localhost. So the browser talks to the
live server as http://localhost:<port>, not http://127.0.0.1:<port>."""

from urllib.parse import urlsplit

import pytest
from allauth.mfa.models import Authenticator

from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.realclock, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


def _localhost(live_server) -> str:
    return f"http://localhost:{urlsplit(live_server.url).port}"


def _sign_in(page, origin: str, email: str) -> None:
    page.goto(f"{origin}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")


def _sign_out(page) -> None:
    page.click("form[action='/accounts/logout/'] button")
    page.wait_for_url("**/accounts/login/**")


def test_a_person_registers_a_security_key_and_signs_in_with_it(browser, live_server):
    user = UserFactory(username="kim", first_name="Kim", last_name="Key", email="kim@example.com")
    user.set_password(PASSWORD)
    user.save()
    origin = _localhost(live_server)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        cdp = context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        authenticator = cdp.send(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": True,
                }
            },
        )["authenticatorId"]

        _sign_in(page, origin, "kim@example.com")
        page.goto(f"{origin}/accounts/2fa/webauthn/add/")
        # allauth asks for the password again before a second factor is added.
        page.fill("input[name=password]", PASSWORD)
        page.press("input[name=password]", "Enter")
        page.wait_for_url("**/2fa/webauthn/add/")
        page.fill("input[name=name]", "Kim's key")
        page.click("#mfa_webauthn_add")
        # The key is made by the authenticator and checked by the server; allauth then shows the
        # recovery codes it made alongside the first second factor.
        page.wait_for_url("**/2fa/recovery-codes/")
        key = Authenticator.objects.get(user=user, type=Authenticator.Type.WEBAUTHN)
        assert key.data["name"] == "Kim's key"
        held = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
        assert [c["rpId"] for c in held] == ["localhost"]
        assert held[0]["signCount"] == 1
        page.goto(f"{origin}/accounts/2fa/")
        assert "You have added 1 security key." in page.inner_text("main")

        # Signing in now takes the password and then the key.
        _sign_out(page)
        _sign_in(page, origin, "kim@example.com")
        page.wait_for_url("**/2fa/authenticate/")
        page.click("#mfa_webauthn_authenticate")
        page.wait_for_url(f"{origin}/")
        assert page.locator("a.topbar-link", has_text="Two-factor").is_visible()
        held = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
        assert held[0]["signCount"] == 2  # the key signed the server's challenge
        key.refresh_from_db()
        assert key.last_used_at is not None

        # Without the key, the password alone opens nothing.
        _sign_out(page)
        cdp.send("WebAuthn.clearCredentials", {"authenticatorId": authenticator})
        _sign_in(page, origin, "kim@example.com")
        page.wait_for_url("**/2fa/authenticate/")
        page.click("#mfa_webauthn_authenticate")
        page.wait_for_timeout(1_000)
        assert page.url.endswith("/accounts/2fa/authenticate/")
        page.goto(f"{origin}/")
        assert page.url != f"{origin}/"  # sent back to the sign-in, not to the dashboard
        assert page.locator("a.topbar-link", has_text="Two-factor").count() == 0
        assert problems == []
    finally:
        context.close()

"""How allauth (sign-in, password reset, single sign-on) fits the portal: closed sign-up, mail
through the outbox, failed sign-ins throttled per account and address, SSO limited to the allowed
e-mail domains, and, when SSO is the only way in, passwords for the break-glass admins alone."""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import render

from accounts.throttle import SignInAttempt, sign_in_attempt_start, sign_in_attempt_succeeded
from comms.models import Message
from comms.selectors import email_channel
from comms.services import Recipient, message_send


class AccountAdapter(DefaultAccountAdapter):
    """Closed by default: responders are added by an admin, not by sign-up."""

    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "too_many_login_attempts": "Too many failed sign-ins to this account from your network. "
        "Try again in a few minutes, or reset your password.",
        "sso_only": "Passwords are switched off here: sign in with single sign-on.",
    }

    _sign_in_attempt: SignInAttempt | None = None

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        # Every password check of both sign-in forms passes here (the admin's
        # login redirects to allauth's), and so does reauthentication.
        super().pre_authenticate(request, **credentials)  # allauth's limit per address
        login = credentials.get("email") or credentials.get("username") or ""
        self._sign_in_attempt = sign_in_attempt_start(login=login, address=self.get_client_ip(request))
        if self._sign_in_attempt is None:
            raise self.validation_error("too_many_login_attempts")

    def authenticate(self, request: HttpRequest, **credentials: Any) -> AbstractBaseUser | None:
        user = super().authenticate(request, **credentials)
        if user is not None and self._sign_in_attempt is not None:
            sign_in_attempt_succeeded(self._sign_in_attempt)
        # Checked after the password, so that the refusal tells only someone who knows it
        # which addresses are the break-glass ones.
        if user is not None and not password_sign_in_allowed(user):
            raise self.validation_error("sso_only")
        return user

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return settings.ACCOUNT_ALLOW_SIGNUP

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # Account mail (password reset...) leaves through the outbox like every
        # other message: recorded and retried. Its body is a secret (a reset or
        # confirmation link, a code) that would let whoever reads it act as the
        # person: the outbox shows its subject, recipient and state only, and the
        # body is erased once delivered (comms: sensitive messages).
        rendered = self.render_mail(template_prefix, email, context)
        with transaction.atomic():
            message_send(
                kind=Message.Kind.ACCOUNT,
                subject=rendered.subject,
                body=rendered.body,
                recipients=[Recipient(channel=email_channel(), address=email)],
                sensitive=True,
            )


def is_break_glass(user: AbstractBaseUser) -> bool:
    """A superuser whose address is listed in OIDC_BREAK_GLASS_EMAILS."""
    email = (getattr(user, "email", "") or "").lower()
    return bool(user.is_superuser and email and email in settings.OIDC_BREAK_GLASS_EMAILS)


def password_sign_in_allowed(user: AbstractBaseUser) -> bool:
    return not settings.OIDC_SSO_ONLY or is_break_glass(user)


def email_domain_allowed(email: str) -> bool:
    """OIDC_ALLOWED_EMAIL_DOMAINS, exactly (a subdomain is another domain); empty allows any."""
    if not settings.OIDC_ALLOWED_EMAIL_DOMAINS:
        return True
    domain = email.rpartition("@")[2].lower().rstrip(".")
    return "@" in email and domain in settings.OIDC_ALLOWED_EMAIL_DOMAINS


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Single sign-on: the company's identity provider vouches for the address; we decide who is in."""

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        # Every SSO sign-in passes here, for a person already connected too: one whose
        # address moved to a domain that is not allowed is refused as well.
        emails = [e.email for e in sociallogin.email_addresses if e.email]
        email = emails[0] if emails else (getattr(sociallogin.user, "email", "") or "")
        if not email or not email_domain_allowed(email):
            response = render(
                request,
                "account/sso_refused.html",
                {"email": email, "domains": settings.OIDC_ALLOWED_EMAIL_DOMAINS},
                status=403,
            )
            raise ImmediateHttpResponse(response)

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        """A person the portal does not know gets an account only when OIDC_CREATE_USERS is on."""
        return settings.OIDC_CREATE_USERS

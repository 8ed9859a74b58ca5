"""How allauth (sign-in, password reset) fits the portal: closed sign-up, mail through the outbox,
failed sign-ins throttled per account and address."""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest

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

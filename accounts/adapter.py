"""How allauth (sign-in, password reset) fits the portal: closed sign-up, mail through the outbox."""

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest

from comms.models import Message
from comms.selectors import email_channel
from comms.services import Recipient, message_send


class AccountAdapter(DefaultAccountAdapter):
    """Closed by default: responders are added by an admin, not by sign-up."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return settings.ACCOUNT_ALLOW_SIGNUP

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # Account mail (password reset...) leaves through the outbox like every
        # other message: recorded, retried, and visible to admins.
        rendered = self.render_mail(template_prefix, email, context)
        with transaction.atomic():
            message_send(
                kind=Message.Kind.OTHER,
                subject=rendered.subject,
                body=rendered.body,
                recipients=[Recipient(channel=email_channel(), address=email)],
            )

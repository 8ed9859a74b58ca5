"""What every roles service shares: the domain errors, names and links, and sending messages.

RoleError and NotAllowed are public (re-exported by roles.services); the
underscored helpers are for the sibling modules of this package only.
message_about() is issue 13's rule for what a message about a restricted
incident may say: every app that sends about an incident (roles, reviews,
customers) passes its subject and body through it, or through send_to().
"""

from collections.abc import Sequence

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from comms.models import Channel
from comms.selectors import in_app_channel
from comms.services import (
    CommsError,
    Recipient,
    message_refused,
    message_send,
    recipients_for_user,
    recipients_split,
)
from core import errors as core_errors
from incidents.models import Incident
from incidents.services import IncidentError
from roles.selectors import profile_for


class RoleError(IncidentError):
    """A roles change the rules do not allow; the message is meant for a person."""


class NotAllowed(RoleError, core_errors.NotAllowed):
    """The person asking may not do this (a 403 for the API)."""


def person_name(user: AbstractBaseUser | None) -> str:
    if user is None:
        return "Coolhead"
    return user.get_full_name() or user.get_username()


def absolute_url(path: str) -> str:
    return settings.SITE_URL + path


# --- Reaching people ------------------------------------------------------------------------


def personal_webhook_channel() -> Channel:
    """The channel personal webhooks travel on: Slack-style JSON to each person's own URL."""
    channel, _ = Channel.objects.get_or_create(
        slug="personal-webhook",
        defaults={"name": "Personal webhooks (URL in each profile)", "kind": Channel.Kind.SLACK},
    )
    return channel


def recipients_for(user: AbstractBaseUser) -> list[Recipient]:
    """In-app, e-mail, and the person's own webhook when their profile has one."""
    recipients = recipients_for_user(user)
    url = profile_for(user).webhook_url
    if url:
        recipients.append(Recipient(channel=personal_webhook_channel(), address=url, user=user))
    return recipients


def send_to(
    *,
    kind: str,
    subject: str,
    body: str,
    to: Sequence[AbstractBaseUser],
    incident: Incident | None,
    dedup_key: str | None,
    context: dict | None = None,
    secret_values: Sequence[str] = (),
    recipients: Sequence[Recipient] | None = None,
    in_app_only: bool = False,
    restricted_lines: Sequence[str] = (),
):
    """Send to these people by their usual paths (bell, e-mail, personal webhook), or to `recipients`.

    `in_app_only`: the bell alone (the person is in the room already). About a
    restricted (security) incident, a message says only what message_about()
    lets it say: that a restricted incident needs them, `restricted_lines` (an
    acknowledge link) and the room's link.
    """
    if recipients is None:
        if in_app_only:
            recipients = [Recipient(channel=in_app_channel(), user=user) for user in to]
        else:
            recipients = [r for user in to for r in recipients_for(user)]
    subject, body, context = message_about(
        incident, subject=subject, body=body, context=context, restricted_lines=restricted_lines
    )
    # One person's unusable address (or a switched-off channel) must not keep the
    # message from everyone else: what the outbox refuses is recorded there as a
    # dead message with the reason; only when nobody can be reached is it refused.
    recipients, refused = recipients_split(recipients)
    if refused and not recipients:
        raise RoleError(f"Could not send the message: {refused[0][1]}")
    if refused:
        message_refused(
            kind=kind,
            subject=subject,
            recipients=[recipient for recipient, _ in refused],
            reason="; ".join(dict.fromkeys(reason for _, reason in refused)),
            incident=incident,
            dedup_key=f"{dedup_key}:refused"[:200] if dedup_key else None,
        )
    if incident is not None and incident.has_contacts and not incident.is_security:
        # Every message about an incident says where to join the call and the chat.
        body = f"{body}\n\n{incident.join_text()}"
        context = {**(context or {}), "join": incident.join_document()}
    try:
        return message_send(
            kind=kind,
            subject=subject[:300],
            body=body,
            recipients=recipients,
            incident=incident,
            dedup_key=dedup_key,
            context=context,
            secret_values=secret_values,
        )
    except CommsError as error:
        raise RoleError(f"Could not send the message: {error}") from None


def message_about(
    incident: Incident | None,
    *,
    subject: str,
    body: str,
    context: dict | None = None,
    restricted_lines: Sequence[str] = (),
) -> tuple[str, str, dict | None]:
    """What a message about this incident may say: (subject, body, context).

    As written, unless the incident is restricted (security): then, whatever the
    channel and whoever sends it (roles, reviews, customers), only that a
    restricted incident needs the reader, `restricted_lines` (links that carry no
    more than that: an acknowledge link, the review's page) and the room's link.
    Never its title or what happened: a message leaves the portal, and
    a mailbox, a phone's lock screen or a chat preview is read by more people.
    """
    if incident is None or not incident.is_security:
        return subject, body, context
    room = room_url(incident)
    return (
        f"[{incident.reference}] A restricted incident needs you",
        "\n\n".join(["A restricted incident needs you.", *restricted_lines, f"The room: {room}"]),
        {"incident": incident.reference, "room_url": room},
    )


def subject_for(incident: Incident, text: str) -> str:
    return f"[{incident.reference} {incident.severity_label}] {text}"


def room_url(incident: Incident) -> str:
    return absolute_url(incident.get_absolute_url())

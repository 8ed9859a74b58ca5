"""Social posts: "send Tweets from our various accounts"; "if in doubt, tweet it out".

A public update published with "notify" is also posted to each active social account
(customers.SocialAccount: an apprise URL on a comms channel), through the outbox like any
message: once per account and update (its dedup key), shortened to the network's limit
(apprise's body_maxlen for the account) with the link to the status page's incident page
kept whole. Restricted (security) incidents are never posted, whatever was published.
"""

import logging
import secrets

from django.db import transaction

from comms.models import Channel, Message
from comms.services import CommsError, Recipient, channel_apprise_set, message_send_or_record_refusal
from core.text import one_line
from customers.models import SocialAccount
from customers.services.common import CustomerError
from incidents.models import TimelineEntry
from statuspage.models import IncidentStatus, PublicUpdate
from statuspage.selectors import page_settings

logger = logging.getLogger(__name__)

# When apprise does not say how long a post may be: the shortest of the networks we know (X).
FALLBACK_LIMIT = 280
ELLIPSIS = "…"


def post_text(*, title: str, status: str, body: str, link: str, limit: int) -> str:
    """The post: "Title (Status): what the update says", cut at a word to fit, then the link, whole."""
    try:
        label = IncidentStatus(status).label
    except ValueError:
        label = status
    text = one_line(f"{title} ({label}): {body}")
    room = limit - len(link) - 1  # the newline before the link
    if room < 20:
        return link[:limit]
    if len(text) > room:
        cut = text[: room - len(ELLIPSIS)]
        # At the last space, unless that throws most of the text away.
        space = cut.rfind(" ")
        if space > len(cut) * 0.6:
            cut = cut[:space]
        text = cut.rstrip(" ,.;:—-") + ELLIPSIS
    return f"{text}\n{link}"


def social_posts_for_entry(entry: TimelineEntry) -> int:
    """Write the posts of a public update just published (called for its timeline entry, in its
    transaction: a rollback posts nothing). Returns how many were written."""
    data = entry.data if isinstance(entry.data, dict) else {}
    if (
        entry.kind != TimelineEntry.Kind.PUBLIC_UPDATE
        or "public_update" not in data
        or not data.get("notified")
    ):
        return 0
    incident = entry.incident
    if incident.is_security:
        return 0  # restricted incidents never post, even when an update was confirmed for the page
    accounts = list(
        SocialAccount.objects.filter(is_active=True, channel__is_active=True).select_related("channel")
    )
    if not accounts:
        return 0
    update = (
        PublicUpdate.objects.select_related("public_incident").filter(public_id=data["public_update"]).first()
    )
    if update is None:
        return 0
    link = f"{page_settings().public_url}/incidents/{update.public_incident.public_id}"
    written = 0
    for account in accounts:
        limit = account.channel.apprise_body_limit or FALLBACK_LIMIT
        text = post_text(
            title=update.public_incident.name, status=update.status, body=update.body, link=link, limit=limit
        )
        try:
            message_send_or_record_refusal(
                kind=Message.Kind.SOCIAL_POST,
                subject=f"Post to {account.name}: {update.public_incident.name}",
                body=text,
                recipients=[Recipient(channel=account.channel)],
                incident=incident,
                dedup_key=f"customers:social:{account.pk}:{update.public_id}",
                # Sent as written: measured to the network's limit here, not Markdown.
                context={"body_format": "text"},
            )
        except CommsError:
            # Recorded in the outbox with the reason; the public update stands.
            logger.warning("Social post to %s skipped for %s", account.pk, update.public_id, exc_info=True)
            continue
        written += 1
    return written


@transaction.atomic
def social_account_save(*, name: str, url: str = "", account: SocialAccount | None = None) -> SocialAccount:
    """Add an account (its apprise URL is required) or rename it and, if given, change its URL."""
    name = one_line(name)
    if not name or len(name) > 100:
        raise CustomerError("A social account needs a name of at most 100 characters.")
    if account is None and not (url or "").strip():
        raise CustomerError("Give the account's apprise URL (e.g. mastodons://token@mastodon.social).")
    if SocialAccount.objects.filter(name=name).exclude(pk=account.pk if account else None).exists():
        raise CustomerError(f"There is a social account called {name} already.")
    if account is None:
        channel = Channel(name=f"Social: {name}"[:100], slug=f"social-{secrets.token_hex(6)}", kind="apprise")
    else:
        channel = account.channel
        channel.name = f"Social: {name}"[:100]
    if (url or "").strip():
        try:
            channel_apprise_set(channel=channel, url=url)
        except CommsError as error:
            raise CustomerError(str(error)) from None
    channel.save()
    if account is None:
        account = SocialAccount.objects.create(name=name, channel=channel)
    else:
        account.name = name
        account.save(update_fields=["name"])
    return account

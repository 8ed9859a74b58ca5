"""Slack slash commands: `/incident declare|ic page|ack|status|status stalk|note`.

Slack signs each request: `X-Slack-Signature` is `v0=` + hex HMAC-SHA256 of
`v0:{X-Slack-Request-Timestamp}:{raw body}` keyed with the app's signing
secret. A request older than five minutes is refused (a replay), and the
comparison is constant-time.

Slack users are matched to Coolhead people by Slack user id and workspace
(team id), linked once with a one-time code (integrations/slack_links.py); the
user name, which anyone can change, is never trusted. An unlinked Slack user
may only ask for help and link. Answers about a restricted incident are
ephemeral (seen by the asker alone), and only its participants get one: anyone
else gets the answer for an incident that does not exist.
"""

import hashlib
import hmac
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from comms.models import Channel
from comms.services import CommsError, Recipient, message_refused, message_send
from incidents.models import Incident, Severity, TimelineEntry
from incidents.selectors import incidents_visible_to
from incidents.services import IncidentError, incident_declare, timeline_add, timeline_record, tools
from integrations.models import SlackIdentity, SlackStalk
from integrations.slack_links import SlackLinkError, slack_link_claim, slack_person, slack_unlink
from roles.models import Page
from roles.selectors import current_role_holders
from roles.services import page_acknowledge, page_incident_commander

SIGNATURE_VERSION = "v0"
MAX_AGE_SECONDS = 300

USAGE = (
    "Usage:\n"
    "• `/incident declare [sev1-sev5] <title>` — declare an incident (SEV-3 unless said)\n"
    "• `/incident ic page [INC-n]` — page the primary and backup on-call Incident Commander\n"
    "• `/incident ack [INC-n]` — acknowledge the page waiting for you (your notification steps stop)\n"
    "• `/incident status [INC-n]` — severity, status, roles and the last updates\n"
    "• `/incident status stalk [INC-n]` — post the status here every 30 seconds until resolved\n"
    "• `/incident status stop` — stop posting the status here\n"
    "• `/incident note [INC-n] <text>` — add a note to the timeline\n"
    "• `/incident change [INC-n] <what> from <old> to <new> [in <where>]` — record a change, old value too\n"
    "• `/incident hypothesis [INC-n] <what you suspect>` — raise a hypothesis\n"
    "• `/incident hypotheses [INC-n]` — list the open hypotheses\n"
    "• `/incident link <code>` — act as yourself in Coolhead (the code is on your Slack page there)\n"
    "• `/incident unlink` — stop acting as yourself in Coolhead from this Slack account"
)


def signature_for(*, secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{SIGNATURE_VERSION}:{timestamp}:".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def signature_is_valid(
    *, secret: str, timestamp: str, body: bytes, signature: str, now: float | None = None
) -> bool:
    if not secret or not timestamp or not signature:
        return False
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    now = time.time() if now is None else now
    if abs(now - sent_at) > MAX_AGE_SECONDS:
        return False
    expected = signature_for(secret=secret, timestamp=timestamp, body=body)
    return hmac.compare_digest(expected.encode(), signature.encode())


@dataclass(frozen=True)
class SlackRequest:
    text: str
    user_id: str
    user_name: str
    channel_id: str
    team_id: str = ""
    response_url: str = ""


def reply(text: str, *, in_channel: bool = False, blocks: list | None = None) -> dict:
    answer = {"response_type": "in_channel" if in_channel else "ephemeral", "text": text}
    if blocks:
        answer["blocks"] = blocks
    return answer


def reply_about(incident: Incident, text: str) -> dict:
    """For the channel, unless the incident is restricted: then for the asker's eyes only."""
    return reply(text, in_channel=not incident.is_security)


def _slack_page() -> str:
    return f"{settings.SITE_URL}{reverse('slack_settings')}"


def _not_linked() -> dict:
    return reply(
        "Coolhead does not know who you are in Slack yet. Link your Slack account once: open "
        f"{_slack_page()} (signed in to Coolhead), get a code, and type `/incident link <code>` here."
    )


REFERENCE = re.compile(r"^(?:INC-)?(\d+)$", re.IGNORECASE)


def _take_reference(words: list[str]) -> tuple[int | None, list[str]]:
    if words and (match := REFERENCE.match(words[0])) and words[0].upper().startswith("INC-"):
        return int(match.group(1)), words[1:]
    return None, words


def _incident_for(request: SlackRequest, person, number: int | None) -> Incident:
    visible = incidents_visible_to(person)
    if number is not None:
        incident = visible.filter(number=number).first()
        if incident is None:
            raise IncidentError(f"There is no INC-{number} that you can see.")
        return incident
    # The incident declared from this channel, most recent first.
    declared_here = (
        TimelineEntry.objects.filter(data__slack_channel=request.channel_id, data__slack_declared=True)
        .order_by("-id")
        .values_list("incident_id", flat=True)
    )
    for incident_id in declared_here[:20]:
        incident = visible.filter(pk=incident_id, status__in=Incident.OPEN_STATUSES).first()
        if incident is not None:
            return incident
    open_ones = list(visible.filter(status__in=Incident.OPEN_STATUSES).order_by("-declared_at")[:2])
    if len(open_ones) == 1:
        return open_ones[0]
    raise IncidentError(
        "Which incident? Add its reference, e.g. `INC-12`." if open_ones else "There is no open incident."
    )


def status_text(incident: Incident) -> str:
    """The `!status` answer: severity, status, roles, the last updates."""

    holders = current_role_holders([incident.pk]).get(incident.pk, [])
    lines = [
        f"*{incident.reference}: {incident.title}*",
        f"{incident.severity_label} · {incident.get_status_display()}"
        + (" · deploy freeze" if incident.deploy_freeze else ""),
        f"{settings.SITE_URL}{incident.get_absolute_url()}",
    ]
    if holders:
        lines.append(
            "Roles: "
            + "; ".join(
                f"{a.get_role_display()}: {a.user.get_full_name() or a.user.get_username()}" for a in holders
            )
        )
    else:
        lines.append("Roles: nobody yet — `/incident ic page` pages an Incident Commander.")
    recent = incident.timeline.filter(struck_at__isnull=True).order_by("-occurred_at", "-id")[:3]
    if recent:
        lines.append("Last updates:")
        for entry in recent:
            first_line = entry.body.strip().splitlines()[0] if entry.body.strip() else ""
            when = timezone.localtime(entry.occurred_at)
            lines.append(f"• {when:%H:%M} {entry.get_kind_display()}: {first_line[:200]}")
    return "\n".join(lines)


def stalk_webhook_channel(slack_channel_id: str):
    """The Slack-style incoming webhook for this Slack channel: a comms channel with slug slack-<id>."""

    return Channel.objects.filter(
        slug=f"slack-{slack_channel_id.lower()}", kind=Channel.Kind.SLACK, is_active=True
    ).first()


def _declare(request: SlackRequest, person, words: list[str]) -> dict:
    severity = Severity.SEV3
    if words and re.fullmatch(r"sev-?[1-5]", words[0], re.IGNORECASE):
        severity = int(words[0][-1])
        words = words[1:]
    title = " ".join(words).strip()
    if not title:
        return reply("Give the incident a title: `/incident declare [sev1-sev5] <title>`.")
    if len(title) > 200:
        return reply("The title is longer than 200 characters.")
    with transaction.atomic():
        incident = incident_declare(title=title, severity=severity, declared_by=person)
        timeline_record(
            incident=incident,
            kind=TimelineEntry.Kind.NOTE,
            body=f"Declared from Slack in channel {request.channel_id}.",
            author=person,
            data={"slack_channel": request.channel_id, "slack_user": request.user_id, "slack_declared": True},
        )
    return reply_about(
        incident,
        f"{incident.reference} declared ({incident.severity_label}): {incident.title}\n"
        f"{settings.SITE_URL}{incident.get_absolute_url()}",
    )


def _ic_page(request: SlackRequest, person, words: list[str]) -> dict:
    number, _ = _take_reference(words)
    incident = _incident_for(request, person, number)
    who = person.get_full_name() or person.get_username()
    page = page_incident_commander(incident=incident, by=person, message=f"Paged from Slack by {who}")
    names = ", ".join(u.get_full_name() or u.get_username() for u in page.notified.all())
    return reply_about(incident, f"{incident.reference}: paged the on-call Incident Commander ({names}).")


def _ack(request: SlackRequest, person, words: list[str]) -> dict:
    """Acknowledge the latest page on the incident that reached this person and still waits."""
    number, _ = _take_reference(words)
    incident = _incident_for(request, person, number)
    page = (
        Page.objects.filter(
            incident=incident, notified=person, status__in=[Page.Status.TRIGGERED, Page.Status.EXHAUSTED]
        )
        .order_by("-created_at", "-pk")
        .first()
    )
    if page is None:
        return reply(f"{incident.reference}: no page is waiting for you to acknowledge.")
    page_acknowledge(page=page, user=person)
    who = person.get_full_name() or person.get_username()
    return reply_about(incident, f"{incident.reference}: {who} acknowledged the page.")


def _status(request: SlackRequest, person, words: list[str]) -> dict:
    if words and words[0].lower() == "stop":
        return _stop(request)
    stalk = bool(words) and words[0].lower() == "stalk"
    number, _ = _take_reference(words[1:] if stalk else words)
    incident = _incident_for(request, person, number)
    if not stalk:
        return reply_about(incident, status_text(incident))
    if incident.is_security:
        return reply(f"{incident.reference} is restricted: its status is not posted to a channel.")
    channel = stalk_webhook_channel(request.channel_id)
    if channel is None:
        return reply(
            "This Slack channel has no incoming webhook in Coolhead yet: an admin adds a comms channel "
            f"of kind “Slack-style incoming webhook” with the slug `slack-{request.channel_id.lower()}`."
        )
    if not incident.is_open:
        return reply(f"{incident.reference} is {incident.get_status_display().lower()}: nothing to follow.")
    try:
        with transaction.atomic():
            SlackStalk.objects.create(
                incident=incident,
                slack_channel_id=request.channel_id,
                channel=channel,
                started_by=request.user_name,
            )
    except IntegrityError:
        return reply(f"The status of {incident.reference} is posted here already.")
    every = settings.SLACK_STALK_SECONDS
    return reply(
        f"Posting the status of {incident.reference} here every {every} seconds until it is resolved "
        "or someone says `/incident status stop`.\n\n" + status_text(incident),
        in_channel=True,
    )


def _stop(request: SlackRequest) -> dict:
    stopped = SlackStalk.objects.filter(slack_channel_id=request.channel_id, stopped_at__isnull=True).update(
        stopped_at=timezone.now()
    )
    if not stopped:
        return reply("No status is being posted to this channel.")
    return reply("Stopped posting the status here.", in_channel=True)


def _note(request: SlackRequest, person, words: list[str]) -> dict:
    number, words = _take_reference(words)
    text = " ".join(words).strip()
    if not text:
        return reply("Write the note: `/incident note [INC-n] <text>`.")
    incident = _incident_for(request, person, number)
    timeline_add(incident=incident, kind=TimelineEntry.Kind.NOTE, body=text, author=person)
    return reply(f"Noted on {incident.reference}.")


CHANGE = re.compile(
    r"^(?P<what>.+?)\s+from\s+(?P<old>.*?)\s+to\s+(?P<new>.+?)(?:\s+in\s+(?P<where>.+))?$", re.IGNORECASE
)


def _change(request: SlackRequest, person, words: list[str]) -> dict:
    number, words = _take_reference(words)
    match = CHANGE.match(" ".join(words).strip())
    if match is None:
        return reply(
            "Say what changed and its old value: `/incident change DB_POOL_SIZE from 20 to 80 in checkout`."
        )
    incident = _incident_for(request, person, number)
    what = match["what"].strip()
    tools.change_record(
        incident=incident,
        by=person,
        what=what,
        # Without "in <where>", the thing changed is its own place (a config key, a flag).
        where=(match["where"] or what).strip(),
        old_value=match["old"].strip(),
        new_value=match["new"].strip(),
    )
    old, new = match["old"].strip() or "—", match["new"].strip()
    return reply_about(
        incident,
        f"{incident.reference}: change recorded, {what} from {old} to {new}. Restore it in the room.",
    )


def _hypothesis(request: SlackRequest, person, words: list[str]) -> dict:
    number, words = _take_reference(words)
    statement = " ".join(words).strip()
    if not statement:
        return reply("Say what you suspect: `/incident hypothesis [INC-n] <statement>`.")
    incident = _incident_for(request, person, number)
    tools.hypothesis_raise(incident=incident, by=person, statement=statement)
    return reply_about(incident, f"{incident.reference}: hypothesis raised: {statement}")


def _hypotheses(request: SlackRequest, person, words: list[str]) -> dict:
    number, _words = _take_reference(words)
    incident = _incident_for(request, person, number)
    open_ones = list(incident.hypotheses.filter(state="open").order_by("raised_at", "pk")[:20])
    if not open_ones:
        return reply_about(incident, f"{incident.reference}: no open hypothesis.")
    lines = "\n".join(f"• {h.statement}" for h in open_ones)
    return reply_about(incident, f"{incident.reference}: open hypotheses\n{lines}")


def command_run(request: SlackRequest) -> dict:
    """Run one `/incident ...` command; the answer in Slack's response format."""
    words = request.text.split()
    if not words or words[0].lower() in ("help", "?"):
        return reply(USAGE)
    verb, rest = words[0].lower(), words[1:]
    if verb == "link":
        return _link(request, rest)
    if verb == "unlink":
        return _unlink(request)
    person = slack_person(team_id=request.team_id, slack_user_id=request.user_id)
    if person is None:
        return _not_linked()
    try:
        if verb == "declare":
            return _declare(request, person, rest)
        if verb == "ic" and rest and rest[0].lower() == "page":
            return _ic_page(request, person, rest[1:])
        if verb in ("ack", "acknowledge"):
            return _ack(request, person, rest)
        if verb == "status":
            return _status(request, person, rest)
        if verb == "stop":
            return _stop(request)
        if verb == "note":
            return _note(request, person, rest)
        if verb == "change":
            return _change(request, person, rest)
        if verb == "hypothesis":
            return _hypothesis(request, person, rest)
        if verb == "hypotheses":
            return _hypotheses(request, person, rest)
    except IncidentError as error:
        return reply(str(error))
    return reply(f"I do not know `{request.text[:100]}`.\n\n{USAGE}")


def _link(request: SlackRequest, words: list[str]) -> dict:
    if not words:
        return reply(f"Type the code from {_slack_page()}: `/incident link <code>`.")
    try:
        identity = slack_link_claim(
            code="".join(words),
            team_id=request.team_id,
            slack_user_id=request.user_id,
            slack_user_name=request.user_name,
        )
    except SlackLinkError as error:
        return reply(f"{error} Get a new code at {_slack_page()}.")
    person = identity.user
    return reply(
        f"Linked: in Coolhead you are {person.get_full_name() or person.get_username()} "
        f"({person.get_username()}). `/incident unlink` undoes it."
    )


def _unlink(request: SlackRequest) -> dict:
    from_here = SlackIdentity.objects.filter(team_id=request.team_id, slack_user_id=request.user_id)
    if not (request.team_id and request.user_id) or not from_here.exists():
        return reply("This Slack account is not linked to anyone in Coolhead.")
    for identity in from_here:
        slack_unlink(identity=identity)
    return reply("Unlinked: this Slack account no longer acts as anyone in Coolhead.")


# --- `status stalk`: the periodic post ---------------------------------------------------------------


def slack_stalks_post(*, now=None) -> int:
    """Post the status of every followed incident to its Slack channel, once per period.

    Idempotent per period (the outbox dedup key holds the period number), so a
    beat that fires twice or late posts once. A resolved incident gets a last
    post and its stalk ends.
    """

    now = now or timezone.now()
    period = int(now.timestamp()) // settings.SLACK_STALK_SECONDS
    posted = 0
    for stalk in SlackStalk.objects.filter(stopped_at__isnull=True).select_related("incident", "channel"):
        incident = stalk.incident
        if incident.is_security:
            # Restricted since the stalk began: its status no longer goes to a channel.
            SlackStalk.objects.filter(pk=stalk.pk).update(stopped_at=now)
            continue
        try:
            with transaction.atomic():
                message_send(
                    kind="other",
                    subject=f"{incident.reference} status",
                    body=status_text(incident).replace("*", ""),
                    recipients=[Recipient(channel=stalk.channel)],
                    incident=incident,
                    dedup_key=f"slack-stalk:{stalk.pk}:{period}",
                )
                changes = {"last_posted_at": now}
                if not incident.is_open:
                    changes["stopped_at"] = now
                SlackStalk.objects.filter(pk=stalk.pk).update(**changes)
        except CommsError as error:
            # The channel cannot take the post (switched off, a bad URL): the stalk
            # ends, and the outbox says why instead of a silent stop.
            message_refused(
                kind="other",
                subject=f"{incident.reference} status",
                recipients=[Recipient(channel=stalk.channel)],
                reason=str(error),
                incident=incident,
                dedup_key=f"slack-stalk:{stalk.pk}:refused",
            )
            SlackStalk.objects.filter(pk=stalk.pk).update(stopped_at=now)
            continue
        posted += 1
    return posted

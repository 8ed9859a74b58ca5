"""Direct updates: the liaison tells chosen (or all) affected customers, by e-mail, through the outbox.

MNX: "open a ticket with the customer letting them know about the outage and that we
are looking into it (if you have any details about the outage and an approximate ETA to
fix, include that as well)"; "if there is a major outage their business e-mails may be
affected, so be sure to use their alternate e-mails". Each customer gets one message of
its own (its name, what of theirs is affected), to every contact: the primary and the
alternate address during a major incident, the preferred one otherwise. Every message
carries the status, what is affected, the ETA and where to join, whatever the text says.
"""

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from comms.models import Message
from comms.selectors import email_channel
from comms.services import CommsError, Recipient, message_send
from customers import selectors
from customers.models import Customer, CustomerMessage, DirectUpdate, UpdateTemplate
from customers.services.common import CustomerError, affected_row, locked_for_contact, names, record
from incidents.models import Incident
from incidents.services import incident_set_eta
from statuspage.selectors import page_settings

TEXT_MAX = 5000

# The placeholders a template (and the liaison's text) may use, filled in for each customer.
PLACEHOLDERS = ("customer", "company", "status", "affected", "eta")

# How customers hear the incident's status.
CUSTOMER_STATUS = {
    Incident.Status.TRIAGE: "Investigating",
    Incident.Status.INVESTIGATING: "Investigating",
    Incident.Status.IDENTIFIED: "Cause found, fix in progress",
    Incident.Status.MONITORING: "Fix in place, monitoring",
    Incident.Status.RESOLVED: "Resolved",
    Incident.Status.DECLINED: "No outage after all",
}

# When an admin has not written templates (customers/migrations/0002 writes these too).
DEFAULT_TEMPLATES: dict[str, tuple[str, str]] = {
    "triage": (
        "{company}: we are looking into a problem affecting {affected}",
        "Hello {customer},\n\nWe are investigating a problem with {affected} that affects your service. "
        "We are on it and will keep you posted.",
    ),
    "investigating": (
        "{company}: we are looking into a problem affecting {affected}",
        "Hello {customer},\n\nWe are investigating a problem with {affected} that affects your service. "
        "We are on it and will keep you posted.",
    ),
    "identified": (
        "{company}: we found the cause of the problem with {affected}",
        "Hello {customer},\n\nWe have found the cause of the problem with {affected} and are working "
        "on a fix.",
    ),
    "monitoring": (
        "{company}: a fix for {affected} is in place",
        "Hello {customer},\n\nA fix for the problem with {affected} is in place and we are watching "
        "it closely. Please tell us if you still see a problem.",
    ),
    "resolved": (
        "{company}: the problem with {affected} is resolved",
        "Hello {customer},\n\nThe problem with {affected} is resolved. Please let us know whether "
        "everything is working from your end.",
    ),
    "declined": (
        "{company}: no outage after all",
        "Hello {customer},\n\nWhat looked like a problem with {affected} turned out not to be one.",
    ),
}

KEEP = object()  # direct_update_send(eta=KEEP): leave the ETA as it is


def template_for(status: str) -> tuple[str, str]:
    """(subject, text) to start a direct update from, for the incident's status."""
    row = UpdateTemplate.objects.filter(status=status).first()
    if row is not None:
        return row.subject, row.body
    return DEFAULT_TEMPLATES.get(status, DEFAULT_TEMPLATES["investigating"])


def fill(text: str, values: dict[str, str]) -> str:
    """The placeholders replaced; any other brace is left as written (no str.format surprises)."""
    for name in PLACEHOLDERS:
        text = text.replace("{" + name + "}", values.get(name, ""))
    return text


def eta_words(eta: datetime | None, zone: ZoneInfo, now: datetime) -> str:
    if eta is None:
        return "not known yet"
    local = eta.astimezone(zone)
    minutes = max(int((eta - now).total_seconds() // 60), 1)
    if minutes < 90:
        ahead = f"in about {minutes} minutes"
    else:
        hours, rest = divmod(5 * round(minutes / 5), 60)
        ahead = f"in about {hours} hour{'s' if hours != 1 else ''}" + (f" {rest} minutes" if rest else "")
    return f"{local:%b} {local.day}, {local:%H:%M} {local.tzname()} ({ahead})"


def affected_names(incident: Incident, customer_ids: list[int]) -> dict[int, list[str]]:
    """What of each customer's is affected: their services and components the incident affects."""
    found: dict[int, list[str]] = {pk: [] for pk in customer_ids}
    services = Customer.services.through.objects.filter(
        customer_id__in=customer_ids, service__incidents=incident
    ).values_list("customer_id", "service__name")
    components = Customer.components.through.objects.filter(
        customer_id__in=customer_ids, component__incidents=incident
    ).values_list("customer_id", "component__name")
    for customer_id, name in [*services, *components]:
        if name not in found[customer_id]:
            found[customer_id].append(name)
    return found


def compose(
    *, incident: Incident, customer, text: str, subject: str, values: dict[str, str], status: str
) -> tuple[str, str]:
    """(subject, body) of one customer's message: their text, then the facts every update carries."""
    body = fill(text, values).strip()
    facts = [
        f"- **Status:** {status}",
        f"- **Affected:** {values['affected']}",
        f"- **Estimated time to fix:** {values['eta']}",
    ]
    parts = [body, "\n".join(facts)]
    join = join_block(incident)
    if join:
        parts.append(join)
    return fill(subject, values), "\n\n".join(parts)


def join_block(incident: Incident) -> str:
    """Where a customer may join (MNX: "have them join the conference bridge"): the call, the chat
    and the public status page once the incident is published there.

    Not the incident's dashboards and runbooks (incident.join_text() has them): those are
    the team's own pages, not for customers.
    """
    parts = []
    if incident.bridge_url:
        parts.append(f"call: {incident.bridge_url}")
    if incident.chat_channel:
        parts.append(f"chat: {incident.chat_channel}")
    if incident.status_page_url:
        parts.append(f"status page: {incident.status_page_url}")
    return ("**Where to join:** " + " · ".join(parts)) if parts else ""


@transaction.atomic
def direct_update_send(
    *,
    incident: Incident,
    by: AbstractBaseUser,
    text: str,
    customer_ids: Sequence[int] | None = None,
    subject: str = "",
    eta=KEEP,
    eta_reason: str = "",
    confirm_restricted: bool = False,
) -> DirectUpdate:
    """Send a direct update to these affected customers (all of them when `customer_ids` is None).

    `eta` (a datetime, or None to clear it) sets the incident's ETA first, on the timeline
    with its previous value. A customer without any e-mail address refuses the whole send
    (nothing is written): add one, or leave them out.
    """
    incident = locked_for_contact(incident, by)
    if incident.is_security and not confirm_restricted:
        raise CustomerError(
            "This is a security incident: nothing about it leaves the portal. To send customers this "
            "update anyway, confirm that you mean to."
        )
    text = (text or "").strip()
    if not text:
        raise CustomerError("Write what to tell the customers.")
    if len(text) > TEXT_MAX:
        raise CustomerError(f"Keep the update to {TEXT_MAX:,} characters.")
    if eta is not KEEP and eta != incident.eta:
        incident_set_eta(incident=incident, by=by, eta=eta, reason=eta_reason)
        incident.refresh_from_db()

    affected = selectors.affected_customers(incident, with_messages=False)
    by_id = {a.customer.pk: a for a in affected.active}
    if customer_ids is None:
        chosen = list(affected.active)
    else:
        wanted = list(dict.fromkeys(customer_ids))
        unknown = [pk for pk in wanted if pk not in by_id]
        if unknown:
            raise CustomerError("Some of the chosen customers are not affected by this incident (any more).")
        chosen = [by_id[pk] for pk in wanted]
    if not chosen:
        raise CustomerError("Choose at least one affected customer.")
    unreachable = [a.customer for a in chosen if not a.has_email]
    if unreachable:
        raise CustomerError(
            f"{names(unreachable)} {'has' if len(unreachable) == 1 else 'have'} no contact with an e-mail "
            "address: add one in the admin, or leave them out."
        )

    now = timezone.now()
    page = page_settings()
    both = incident.is_major
    status = CUSTOMER_STATUS.get(incident.status, incident.get_status_display())
    template_subject, _ = template_for(incident.status)
    subject = (subject or "").strip() or template_subject
    update = DirectUpdate.objects.create(
        incident=incident,
        sent_by=by,
        sent_at=now,
        text=text,
        status=incident.status,
        eta=incident.eta,
        both_addresses=both,
        restricted_confirmed=incident.is_security,
    )
    theirs = affected_names(incident, [item.customer.pk for item in chosen])
    everything = [*incident.components.values_list("name", flat=True)]
    everything += [*incident.services.values_list("name", flat=True)]
    fallback = ", ".join(dict.fromkeys(everything)) or "our service"
    counts = []
    for item in chosen:
        customer = item.customer
        values = {
            "customer": customer.name,
            "company": page.name,
            "status": status,
            "affected": ", ".join(theirs[customer.pk]) or fallback,
            "eta": eta_words(incident.eta, page.zone, now),
        }
        message_subject, body = compose(
            incident=incident, customer=customer, text=text, subject=subject, values=values, status=status
        )
        addresses = list(dict.fromkeys(a for c in item.contacts for a in c.addresses(both=both)))
        try:
            message = message_send(
                kind=Message.Kind.CUSTOMER_UPDATE,
                subject=message_subject,
                body=body,
                recipients=[Recipient(channel=email_channel(), address=address) for address in addresses],
                incident=incident,
                dedup_key=f"customers:update:{update.pk}:{customer.pk}",
            )
        except CommsError as error:
            raise CustomerError(f"{customer}: {error}") from None
        row = item.row or affected_row(incident, customer, derived=item.derived, by=by)
        CustomerMessage.objects.create(update=update, affected=row, message=message)
        counts.append(f"{customer} ({len(addresses)} address{'es' if len(addresses) != 1 else ''})")

    how = "primary and alternate addresses: major incident" if both else "preferred addresses"
    record(
        incident,
        body=f"Direct update sent to {names(counts)}, by e-mail to their {how}.\n\n> "
        + "\n> ".join(text.splitlines()),
        by=by,
        event="update",
        customers=[item.customer.pk for item in chosen],
        update=update.pk,
    )
    return update

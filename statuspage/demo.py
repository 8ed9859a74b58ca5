"""Demo data for the public status page, called at the end of config.demo.load_demo()."""

from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F
from django.utils import timezone

from incidents.models import Incident, TimelineEntry
from statuspage import services
from statuspage.models import Component, ComponentStatusChange, PageSettings, PublicUpdate, Subscriber


def _backdate(update: PublicUpdate, delta: timedelta) -> None:
    """Move a just-published update (and what it changed) back in time."""
    when = update.created_at - delta
    PublicUpdate.objects.filter(pk=update.pk).update(created_at=when, display_at=when)
    ComponentStatusChange.objects.filter(public_update=update).update(changed_at=when)
    if update.timeline_entry_id:
        TimelineEntry.objects.filter(pk=update.timeline_entry_id).update(occurred_at=when)


def _history(component: Component, old: str, new: str, start, minutes: int) -> None:
    ComponentStatusChange.objects.create(
        component=component, old_status=old, new_status=new, changed_at=start
    )
    ComponentStatusChange.objects.create(
        component=component, old_status=new, new_status=old, changed_at=start + timedelta(minutes=minutes)
    )


def load_status_demo(
    *, people: dict[str, AbstractBaseUser], incident: Incident, past_incident: Incident | None = None
) -> None:
    now = timezone.now()
    PageSettings.objects.update_or_create(
        pk=1,
        defaults={
            "name": "Acme Cloud",
            "about": "Live status of the Acme Cloud shop, its payments and its API.",
            "time_zone": "Europe/Berlin",
        },
    )
    born = now - timedelta(days=120)

    def component(name: str, position: int, **kwargs) -> Component:
        return Component.objects.create(name=name, position=position, created_at=born, **kwargs)

    website = component("Website", 1, description="The shop at acme.example")
    payments = component("Payments", 2, is_group=True)
    checkout_eu = component(
        "Checkout (EU)", 1, group=payments, description="Card and SEPA payments in the EU"
    )
    component("Checkout (US)", 2, group=payments)
    platform = component("Platform", 3, is_group=True)
    api = component("Public API", 1, group=platform)
    dashboard = component("Merchant dashboard", 2, group=platform)
    search = component("Search", 3, group=platform)
    component("E-mail delivery", 4, description="Order confirmations and receipts")

    # Some history for the 90-day bars.
    _history(api, "operational", "major_outage", now - timedelta(days=23, hours=4), 40)
    _history(dashboard, "operational", "under_maintenance", now - timedelta(days=41, hours=2), 60)
    _history(website, "operational", "degraded_performance", now - timedelta(days=57, hours=9), 95)

    admin, liaison = people["admin@example.com"], people["customer@example.com"]
    if past_incident is not None:
        first = services.statuspage_publish_update(
            incident=past_incident,
            by=admin,
            title="Search results out of date",
            status="investigating",
            body="Search shows products and prices that are some hours old. We are looking into it.",
            component_statuses={search.public_id: "degraded_performance"},
            deliver_notifications=False,
        )
        second = services.statuspage_publish_update(
            incident=past_incident,
            by=admin,
            title="Search results out of date",
            status="resolved",
            body="Search is up to date again: a scheduled job was missing on a new server.",
            component_statuses={search.public_id: "operational"},
            deliver_notifications=False,
        )
        _backdate(first, timedelta(days=6, hours=2))
        _backdate(second, timedelta(days=6))
        first.public_incident.__class__.objects.filter(pk=first.public_incident_id).update(
            created_at=F("created_at") - timedelta(days=6, hours=2),
            started_at=F("started_at") - timedelta(days=6, hours=2),
            updated_at=F("updated_at") - timedelta(days=6),
            resolved_at=F("resolved_at") - timedelta(days=6),
        )

    # Three public updates on the open SEV-1, written by the customer liaison.
    script = [
        (
            "investigating",
            "Some customers in the EU cannot complete card payments at checkout. We are investigating.",
            {checkout_eu.public_id: "partial_outage"},
            28,
        ),
        (
            "identified",
            "We found the cause: a configuration change in a release this morning. We are rolling it back.",
            {},
            18,
        ),
        (
            "identified",
            "The rollback is under way; payments succeed again for most customers. "
            "Next update in 30 minutes.",
            {},
            5,
        ),
    ]
    updates = []
    for status, body, components, minutes_ago in script:
        update = services.statuspage_publish_update(
            incident=incident,
            by=liaison,
            title="Card payments failing for some EU customers",
            status=status,
            body=body,
            component_statuses=components,
            deliver_notifications=False,
        )
        updates.append((update, minutes_ago))
    for update, minutes_ago in updates:
        _backdate(update, update.created_at - (now - timedelta(minutes=minutes_ago)))
    updates[0][0].public_incident.__class__.objects.filter(pk=updates[0][0].public_incident_id).update(
        created_at=now - timedelta(minutes=28), started_at=now - timedelta(minutes=28)
    )

    services.maintenance_schedule(
        name="Database upgrade",
        scheduled_for=(now + timedelta(days=3)).replace(hour=1, minute=0, second=0, microsecond=0),
        scheduled_until=(now + timedelta(days=3)).replace(hour=3, minute=0, second=0, microsecond=0),
        components=[api, dashboard],
        body="We upgrade the main database. The API and the dashboard may be slow or briefly unavailable.",
        by=admin,
        deliver_notifications=False,
    )
    # Someone who will hear about the next update published from the room.
    Subscriber.objects.create(kind="email", email="customer-fan@example.com", confirmed_at=now)

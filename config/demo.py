"""Demo data for `make run`: people in every responder role, services, and two incidents."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from customers.demo import load_customers_demo
from incidents import services
from incidents.models import Incident, Severity, TimelineEntry
from incidents.services import tools
from roles.demo import load_people_demo
from roles.models import IncidentRole, Service
from roles.services import role_assign
from statuspage.demo import load_status_demo

DEMO_PASSWORD = "coolhead-demo"

# (e-mail, first name, last name, the role they hold in the demo SEV-1)
DEMO_PEOPLE = [
    ("admin@example.com", "Ada", "Admin", None),
    ("ic@example.com", "Iris", "Commander", IncidentRole.INCIDENT_COMMANDER),
    ("deputy@example.com", "Dev", "Deputy", IncidentRole.DEPUTY),
    ("scribe@example.com", "Sam", "Scribe", IncidentRole.SCRIBE),
    ("sme@example.com", "Sasha", "Expert", IncidentRole.SUBJECT_MATTER_EXPERT),
    ("customer@example.com", "Cory", "Liaison", IncidentRole.CUSTOMER_LIAISON),
    ("internal@example.com", "Ines", "Liaison", IncidentRole.INTERNAL_LIAISON),
]

Kind = TimelineEntry.Kind


def demo_loaded() -> bool:
    return get_user_model().objects.filter(email="ic@example.com").exists()


@transaction.atomic
def load_demo() -> None:
    User = get_user_model()
    people = {}
    for email, first, last, _role in DEMO_PEOPLE:
        user = User.objects.create_user(
            username=email.split("@")[0],
            email=email,
            password=DEMO_PASSWORD,
            first_name=first,
            last_name=last,
            is_staff=email.startswith("admin"),
            is_superuser=email.startswith("admin"),
        )
        people[email] = user
    ic, sme, deputy = people["ic@example.com"], people["sme@example.com"], people["deputy@example.com"]

    checkout = Service.objects.create(
        name="Checkout",
        description="Payments and order placement.",
        primary_owner=sme,
        secondary_owner=deputy,
    )
    Service.objects.create(name="Search", description="Product search and indexing.", primary_owner=deputy)
    Service.objects.create(name="Database", description="The primary PostgreSQL cluster.", primary_owner=sme)

    now = timezone.now()
    # A resolved SEV-3 from last week.
    old = services.incident_declare(
        title="[Outage]: Search results stale",
        severity=Severity.SEV3,
        summary="Search index stopped refreshing after a cron host was replaced.",
        declared_by=deputy,
    )
    services.timeline_add(
        incident=old, kind=Kind.FINDING, body="Indexer cron missing on the new host.", author=deputy
    )
    services.incident_change_status(incident=old, status=Incident.Status.IDENTIFIED, by=deputy)
    services.timeline_add(
        incident=old,
        kind=Kind.ACTION,
        body="Re-installed the cron entry and ran a full reindex.",
        author=deputy,
    )
    services.incident_change_status(
        incident=old, status=Incident.Status.RESOLVED, by=deputy, note="Fresh results confirmed."
    )
    # Last week's (its public updates are dated six days back too), and it took two hours.
    _spread_over(old, timedelta(hours=2))
    _shift_into_the_past(old, timedelta(days=6))

    # An open SEV-1 with a lively timeline and the whole role structure.
    fire = services.incident_declare(
        title="[Outage]: Checkout fails for EU customers",
        severity=Severity.SEV1,
        summary="Payments time out for customers in the EU since about 09:40 UTC; US looks fine.",
        declared_by=ic,
        detected_at=now - timedelta(minutes=50),
        rollback_considered="Maybe: release 2026.11.23-2 went out at 09:35. Checking before rolling back.",
    )
    # As if it had been declared 48 minutes ago, ten minutes after detection.
    Incident.objects.filter(pk=fire.pk).update(declared_at=now - timedelta(minutes=48))
    fire.timeline.update(occurred_at=now - timedelta(minutes=48))
    fire.refresh_from_db()
    fire.services.add(checkout)
    for email, _first, _last, role in DEMO_PEOPLE:
        if role is not None:
            # Iris took command as the on-call IC who acknowledged the page (the portal gives
            # her the role, as an acknowledgement does); then she staffs the incident.
            by = None if role == IncidentRole.INCIDENT_COMMANDER else ic
            role_assign(incident=fire, role=role, user=people[email], by=by)
    tools.incident_set_contacts(
        incident=fire,
        by=ic,
        bridge_url="https://meet.example.com/inc-checkout-eu",
        chat_channel="#inc-checkout-eu",
        dashboards="Payments EU https://grafana.example.com/d/payments-eu",
        runbooks="Checkout https://wiki.example.com/runbooks/checkout",
    )
    finding = services.timeline_add(
        incident=fire,
        kind=Kind.FINDING,
        body="p95 latency on `payments-eu` went from 300 ms to 12 s at 09:41.",
        author=sme,
        occurred_at=now - timedelta(minutes=44),
        backdate_reason="Recorded from the call notes",
    )
    pool = tools.hypothesis_raise(
        incident=fire, by=sme, statement="The new connection pool settings in release 2026.11.23-2"
    )
    database = tools.hypothesis_raise(incident=fire, by=sme, statement="The EU database is overloaded")
    tools.hypothesis_decide(
        hypothesis=database,
        by=people["scribe@example.com"],
        state="ruled_out",
        evidence="Database not affected, just checked the logs.",
    )
    tools.hypothesis_decide(hypothesis=pool, by=sme, state="confirmed", evidence_entry=finding)
    rollback = tools.decision_record(
        incident=fire,
        by=ic,
        kind="rollback",
        summary="Roll back release 2026.11.23-2",
        reason="A recent change with low risk to revert; restores service before we know the root cause.",
        rollback_to="2026.11.23-1",
        hypothesis=pool,
    )
    tools.change_record(
        incident=fire,
        by=sme,
        what="PAYMENTS_POOL_SIZE",
        where="payments-eu environment",
        old_value="5",
        new_value="50",
        how_to_restore="Set PAYMENTS_POOL_SIZE=5 and redeploy payments-eu",
        hypothesis=pool,
        decision=rollback,
        occurred_at=now - timedelta(minutes=30),
        backdate_reason="Recorded from the call notes",
    )
    for author, kind, body, minutes_ago in [
        (
            people["customer@example.com"],
            Kind.ACTION,
            "Status page updated: investigating elevated checkout errors in the EU.",
            28,
        ),
        (people["scribe@example.com"], Kind.TODO, "Add an alert on pool saturation for payments-eu.", 20),
    ]:
        services.timeline_add(
            incident=fire,
            kind=kind,
            body=body,
            author=author,
            occurred_at=now - timedelta(minutes=minutes_ago),
            backdate_reason="Recorded from the call notes",
        )
    # The tools recorded just now stand for what happened on the call, 35 to 40 minutes ago.
    fire.timeline.filter(kind__in=[Kind.HYPOTHESIS, Kind.DECISION]).update(
        occurred_at=now - timedelta(minutes=37)
    )
    services.incident_change_status(
        incident=fire, status=Incident.Status.IDENTIFIED, by=ic, note="Rollback in progress."
    )
    services.incident_set_deploy_freeze(incident=fire, freeze=True, by=ic)

    # The people side: profiles, stakeholder teams, on-call rosters (roles/demo.py).
    load_people_demo(people)

    # The public face: components, page history, three public updates on the SEV-1 (statuspage/demo.py).
    load_status_demo(people=people, incident=fire, past_incident=old)

    # Customers on the SEV-1's service, and its ETA to fix (customers/demo.py).
    load_customers_demo(incident=fire, by=people["customer@example.com"])


def _shift_into_the_past(incident: Incident, delta: timedelta) -> None:
    """Move a whole demo incident back in time, keeping its story in order."""
    Incident.objects.filter(pk=incident.pk).update(
        detected_at=F("detected_at") - delta,
        declared_at=F("declared_at") - delta,
        acknowledged_at=F("acknowledged_at") - delta,
        mitigated_at=F("mitigated_at") - delta,
        resolved_at=F("resolved_at") - delta,
    )
    incident.timeline.update(occurred_at=F("occurred_at") - delta, recorded_at=F("recorded_at") - delta)


def _spread_over(incident: Incident, span: timedelta) -> None:
    """A demo incident written in an instant, made to have taken `span`: first entry to last."""
    entries = list(incident.timeline.order_by("pk").values_list("pk", flat=True))
    steps = max(len(entries) - 1, 1)
    for index, pk in enumerate(entries):
        back = span * (steps - index) / steps
        TimelineEntry.objects.filter(pk=pk).update(
            occurred_at=F("occurred_at") - back, recorded_at=F("recorded_at") - back
        )
    Incident.objects.filter(pk=incident.pk).update(
        detected_at=F("detected_at") - span - timedelta(minutes=10),
        declared_at=F("declared_at") - span,
        acknowledged_at=F("acknowledged_at") - span + timedelta(minutes=6),
    )

"""Demo data for the people side, called at the end of config.demo.load_demo().

Schedules are anchored on today, so that whenever the demo is loaded someone is
Incident Commander on call now (primary) with a backup; the scribe's working
day ended an hour ago, so the beat prompts them to hand over on `make run`.
"""

from datetime import UTC, time, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from roles.models import LayerMember, Profile, RotationLayer, Schedule, Service, Team

WEEKDAYS = [0, 1, 2, 3, 4]


def _layer(schedule: Schedule, people: list, *, start, tz: str, handoff: time, hours: int) -> None:
    layer = RotationLayer.objects.create(
        schedule=schedule, timezone=tz, start_date=start, handoff_time=handoff, shift_hours=hours
    )
    for position, user in enumerate(people):
        LayerMember.objects.create(layer=layer, user=user, position=position)


def load_people_demo(people: dict[str, AbstractBaseUser]) -> None:
    ic, deputy, scribe = people["ic@example.com"], people["deputy@example.com"], people["scribe@example.com"]
    sme, customer, internal = (
        people["sme@example.com"],
        people["customer@example.com"],
        people["internal@example.com"],
    )
    admin = people["admin@example.com"]

    Profile.objects.create(
        user=ic,
        timezone="Europe/Berlin",
        working_days=WEEKDAYS,
        has_production_access=True,
        phone="+49 30 5550100",
    )
    Profile.objects.create(
        user=deputy, timezone="America/New_York", working_days=WEEKDAYS, has_production_access=True
    )
    now = timezone.now()
    Profile.objects.create(
        user=scribe,
        timezone="UTC",
        working_days=list(range(7)),
        work_start=(now - timedelta(hours=9)).time().replace(second=0, microsecond=0),
        work_end=(now - timedelta(hours=1)).time().replace(second=0, microsecond=0),
    )
    Profile.objects.create(
        user=sme, timezone="Europe/Lisbon", working_days=WEEKDAYS, has_production_access=True
    )
    Profile.objects.create(user=customer, timezone="America/Los_Angeles", working_days=WEEKDAYS)
    Profile.objects.create(user=internal, timezone="Europe/London", working_days=WEEKDAYS)

    Team.objects.create(
        name="SEV-1 Stakeholders", description="Executives.", stakeholder_for=[1]
    ).members.add(admin, internal)
    Team.objects.create(
        name="SEV-2 Stakeholders", description="Engineering leads.", stakeholder_for=[2]
    ).members.add(admin)
    payments = Team.objects.create(name="Payments", description="Checkout and payment providers.")
    payments.members.add(sme, deputy)
    Service.objects.filter(name="Checkout").update(team=payments, escalation_minutes=5)

    commanders = Schedule.objects.create(
        name="Incident Commanders",
        role="incident_commander",
        description="Page IC pages the primary and the backup at the same time.",
        escalation_minutes=5,
    )
    # Daily turns from today 00:00 UTC: Iris is on call now, and the next in
    # turn, Dev, backs her up (no backup layer: see RotationLayer.level).
    today = timezone.now().astimezone(UTC).date()
    _layer(commanders, [ic, deputy, admin], start=today, tz="UTC", handoff=time(0, 0), hours=24)

    platform = Schedule.objects.create(name="Payments on-call", team=payments, escalation_minutes=5)
    _layer(
        platform,
        [sme, deputy],
        start=today - timedelta(days=7),
        tz="Europe/Berlin",
        handoff=time(9),
        hours=168,
    )

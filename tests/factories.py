import factory
from django.contrib.auth import get_user_model

from incidents import services
from incidents.models import Incident, Severity, TimelineEntry


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"responder{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("correct horse battery staple")
    is_active = True


class IncidentFactory(factory.django.DjangoModelFactory):
    """Incidents are made by the declare service, as in the product."""

    class Meta:
        model = Incident

    title = factory.Sequence(lambda n: f"[Outage]: Something broke #{n}")
    severity = Severity.SEV3
    summary = "Customers see errors."
    is_security = False
    declared_by = factory.SubFactory(UserFactory)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.incident_declare(**kwargs)


def add_entries(incident: Incident, author, count: int, kind: str = TimelineEntry.Kind.NOTE) -> None:
    for i in range(count):
        services.timeline_add(incident=incident, kind=kind, body=f"Entry {i}", author=author)


def bulk_entries(
    incident: Incident, author, count: int, *, kind: str = TimelineEntry.Kind.NOTE, start=None
) -> list[TimelineEntry]:
    """Many timeline entries at once, a second apart, for tests of long timelines.

    Skips the services (and their signals) on purpose: a 2,000-entry room in a
    few hundred milliseconds. All entries share the incident's current revision.
    """
    from datetime import timedelta

    from django.utils import timezone

    incident.refresh_from_db()
    start = start or timezone.now() - timedelta(seconds=count + 60)
    return TimelineEntry.objects.bulk_create(
        TimelineEntry(
            incident=incident,
            kind=kind,
            body=f"Entry {i}",
            body_html=f"<p>Entry {i}</p>",
            author=author,
            occurred_at=start + timedelta(seconds=i),
            recorded_at=start + timedelta(seconds=i),
            revision=incident.revision,
            revision_created=incident.revision,
        )
        for i in range(count)
    )


def trained_commander(user):
    """Mark a person a trained incident commander: they may take the IC role themselves (issue 13)."""
    from roles.models import Profile

    Profile.objects.update_or_create(user=user, defaults={"is_trained_incident_commander": True})
    return user

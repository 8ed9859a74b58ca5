from django.conf import settings
from django.db import models
from django.utils import timezone


class IncidentRole(models.TextChoices):
    INCIDENT_COMMANDER = "incident_commander", "Incident Commander"
    DEPUTY = "deputy", "Deputy"
    SCRIBE = "scribe", "Scribe"
    SUBJECT_MATTER_EXPERT = "sme", "Subject Matter Expert"
    CUSTOMER_LIAISON = "customer_liaison", "Customer Liaison"
    INTERNAL_LIAISON = "internal_liaison", "Internal Liaison"


# Roles one person holds at a time; subject-matter experts may be many.
SINGLE_HOLDER_ROLES = frozenset(IncidentRole.values) - {IncidentRole.SUBJECT_MATTER_EXPERT}


class Service(models.Model):
    """An area of expertise, with the people to page when it breaks."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    primary_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    secondary_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RoleAssignment(models.Model):
    """Someone holding a role on an incident, from started_at until ended_at."""

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="role_assignments"
    )
    role = models.CharField(max_length=32, choices=IncidentRole.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="role_assignments"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    handover_note = models.TextField(blank=True)

    class Meta:
        ordering = ["started_at"]
        constraints = [
            # The database, not luck, keeps one current holder of a single-holder
            # role, and one current assignment of a person to the same role.
            models.UniqueConstraint(
                fields=["incident", "role"],
                condition=models.Q(ended_at__isnull=True) & ~models.Q(role="sme"),
                name="one_current_holder_per_role",
            ),
            models.UniqueConstraint(
                fields=["incident", "role", "user"],
                condition=models.Q(ended_at__isnull=True),
                name="one_current_assignment_per_person_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.user}"

    @property
    def is_current(self) -> bool:
        return self.ended_at is None

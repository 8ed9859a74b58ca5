"""A worked SEV-1 as the services make it: roles, a page answered, a change, a patch, public updates."""

from datetime import timedelta

from django.utils import timezone

from incidents.models import Incident
from incidents.services import (
    incident_change_severity,
    incident_change_status,
    incident_declare,
    timeline_add,
)
from incidents.services.tools import change_record, decision_record, verification_record
from roles.models import IncidentRole
from roles.services import page_acknowledge, page_send, role_assign
from statuspage.models import Component
from statuspage.services import statuspage_publish_update
from tests.factories import UserFactory


def worked_sev1(*, ic=None, security: bool = False, resolve: bool = True) -> dict:
    ic = ic or UserFactory(first_name="Iris", last_name="Commander")
    sme = UserFactory(first_name="Sasha", last_name="Expert")
    liaison = UserFactory(first_name="Cleo", last_name="Liaison")
    component = Component.objects.create(name="Checkout")
    detected = timezone.now() - timedelta(minutes=30)
    incident = incident_declare(
        title="[Outage]: Checkout fails",
        severity=3,
        declared_by=ic,
        detected_at=detected,
        is_security=security,
    )
    role_assign(incident=incident, role=IncidentRole.INCIDENT_COMMANDER, user=ic, by=None)
    incident_change_severity(incident=incident, severity=1, by=ic, note="Every checkout fails")
    role_assign(incident=incident, role=IncidentRole.CUSTOMER_LIAISON, user=liaison, by=None)
    page = page_send(incident=incident, by=ic, person=sme, message="Checkout is down")
    page_acknowledge(page=page, user=sme)
    incident_change_status(incident=incident, status=Incident.Status.INVESTIGATING, by=ic)
    change_record(
        incident=incident, by=sme, what="DB_POOL_SIZE", where="checkout env", old_value="20", new_value="80"
    )
    decision = decision_record(
        incident=incident,
        by=ic,
        kind="patch",
        summary="Raise the pool until the driver fix ships",
        reason="Buys time",
        rollback_to="",
    )
    timeline_add(incident=incident, kind="finding", body="Connection pool exhausted", author=sme)
    timeline_add(incident=incident, kind="todo", body="Alert on pool saturation", author=sme)
    statuspage_publish_update(
        incident=incident,
        by=liaison,
        title="Checkout errors",
        status="investigating",
        body="We are looking into failed checkouts.",
        component_statuses={component.public_id: "major_outage"},
    )
    verification_record(incident=incident, by=ic, checked="Checkout works from three regions")
    statuspage_publish_update(
        incident=incident,
        by=liaison,
        title="Checkout errors",
        status="resolved",
        body="Checkout works again.",
        component_statuses={component.public_id: "operational"},
    )
    if resolve:
        incident_change_status(
            incident=incident,
            status=Incident.Status.RESOLVED,
            by=ic,
            settle_changes={c.pk: "keep" for c in incident.changes.all()},
        )
    incident.refresh_from_db()
    return {
        "incident": incident,
        "ic": ic,
        "sme": sme,
        "liaison": liaison,
        "component": component,
        "page": page,
        "decision": decision,
    }

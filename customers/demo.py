"""Demo customers for `make run`: three organisations, two of them on the demo SEV-1's service."""

from datetime import timedelta

from django.utils import timezone

from customers.models import Contact
from customers.services import customer_create
from incidents.models import Incident
from incidents.services import incident_set_eta
from roles.models import Service

DEMO_CUSTOMERS = [
    (
        "Acme Corp",
        ["Checkout"],
        [
            ("Jane Roe", "jane@acme.example", "jane.roe@mail.example", "+1 555 0100", Contact.Channel.PHONE),
            ("Raj Patel", "raj@acme.example", "raj.p@mail.example", "+1 555 0101", Contact.Channel.EMAIL),
        ],
    ),
    (
        "Globex",
        ["Checkout", "Search"],
        [("Hank Scorpio", "hank@globex.example", "hank@volcano.test", "+1 555 0199", Contact.Channel.EMAIL)],
    ),
    (
        "Initech",
        ["Search"],
        [("Peter Gibbons", "peter@initech.example", "", "+1 555 0142", Contact.Channel.EMAIL)],
    ),
]


def load_customers_demo(*, incident: Incident, by) -> None:
    services = {s.name: s for s in Service.objects.all()}
    for name, service_names, contacts in DEMO_CUSTOMERS:
        customer_create(
            name=name,
            services=[services[n] for n in service_names if n in services],
            contacts=[
                {"name": n, "email": e, "alternate_email": a, "phone": p, "preferred_channel": c}
                for n, e, a, p, c in contacts
            ],
        )
    # The fix is two hours away: the room asks the liaison to call Acme Corp and Globex.
    incident_set_eta(
        incident=incident,
        by=by,
        eta=timezone.now() + timedelta(hours=2),
        reason="Rollback of the EU payments release takes about two hours.",
    )

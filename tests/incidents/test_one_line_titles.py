"""A title is one line wherever it is accepted; pages and summaries go out whatever an old title holds."""

import pytest
from django.core import mail

from comms.models import Delivery, Message
from incidents.models import Incident
from incidents.services import incident_declare, incident_edit_details
from roles.models import IncidentRole, Team
from roles.services import executive_summary_send, page_send, role_assign
from tests.api.conftest import TokenClient
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db

TITLES = [
    "Checkout\nfails",
    "Checkout\r\nfails",
    "Checkout\u2028fails",
    "Checkout\vfails",
    " Checkout \x85 fails ",
]


@pytest.mark.parametrize("title", TITLES)
def test_the_declare_service_keeps_a_title_on_one_line(user, title):
    incident = incident_declare(title=title, severity=3, declared_by=user)
    assert incident.title == "Checkout fails"


@pytest.mark.parametrize("title", TITLES)
def test_editing_keeps_a_title_on_one_line(user, title):
    incident = IncidentFactory(declared_by=user)
    incident_edit_details(incident=incident, by=user, title=title, summary="")
    incident.refresh_from_db()
    assert incident.title == "Checkout fails"


def test_a_title_of_only_line_breaks_is_blank(user):
    from incidents.services import IncidentError

    with pytest.raises(IncidentError, match="needs a title"):
        incident_declare(title="\n\u2028\v", severity=3, declared_by=user)


def test_the_declare_form_and_the_api_keep_it_on_one_line(responder_client, user):
    responder_client.post("/incidents/declare/", {"title": "Form\u2028title", "severity": "3"})
    response = TokenClient(user).post(
        "/api/v1/incidents/", {"title": "Api\ntitle", "severity": 3}, format="json"
    )
    assert response.status_code == 201 and response.json()["title"] == "Api title"
    assert set(Incident.objects.values_list("title", flat=True)) == {"Form title", "Api title"}


@pytest.mark.parametrize("title", TITLES)
def test_a_page_goes_out_for_an_incident_whose_stored_title_has_a_line_break(
    user, title, django_capture_on_commit_callbacks
):
    incident = IncidentFactory(declared_by=user)
    # As old rows (or a direct database edit) may hold it.
    Incident.objects.filter(pk=incident.pk).update(title=title)
    incident.refresh_from_db()
    paged = UserFactory(email="paged@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        page_send(incident=incident, by=user, message="Help", person=paged)
    message = Message.objects.get(kind="page")
    assert "\n" not in message.subject and "Checkout fails" in message.subject
    email = Delivery.objects.get(message=message, channel__kind="email")
    assert email.state == Delivery.State.SENT, email.last_error
    assert len(mail.outbox) == 1 and "Checkout fails" in mail.outbox[0].subject


def test_an_executive_summary_goes_out_whatever_the_title_holds(user, django_capture_on_commit_callbacks):
    incident = IncidentFactory(declared_by=user, severity=1, rollback_considered="No.")
    Incident.objects.filter(pk=incident.pk).update(title="Token\u2028leak\nagain")
    incident.refresh_from_db()
    liaison = UserFactory()
    role_assign(incident=incident, role=IncidentRole.INTERNAL_LIAISON, user=liaison, by=None)
    Team.objects.create(name="Execs", stakeholder_for=[1]).members.add(UserFactory(email="erin@example.com"))
    with django_capture_on_commit_callbacks(execute=True):
        executive_summary_send(incident=incident, by=liaison, body="Rolling back.")
    message = Message.objects.get(kind="executive_summary")
    assert message.subject.endswith("Executive summary: Token leak again")
    assert Delivery.objects.filter(message=message, channel__kind="email", state="sent").count() == 1

from incidents.models import Incident
from tests.factories import IncidentFactory


def test_it_declares_and_shows_the_room(responder_client, user):
    incident = IncidentFactory(declared_by=user)
    response = responder_client.get(incident.get_absolute_url())
    assert response.status_code == 200
    assert incident.title in response.content.decode()
    assert Incident.objects.count() == 1

"""Public updates from the incident room: who may, the preview, the publish, what is refused."""

import re

import pytest

from incidents.models import TimelineEntry
from roles.models import RoleAssignment
from statuspage.models import ComponentStatusChange, PublicIncident, PublicUpdate
from statuspage.services import StatuspageError, statuspage_publish_update
from tests.factories import UserFactory


def url(incident):
    return f"/incidents/{incident.number}/public-update/"


def form_data(components, **overrides):
    data = {
        "title": "Checkout errors in the EU",
        "status": "investigating",
        "body": "Some payments fail. We are on it.",
        "impact": "",
        "deliver_notifications": "on",
        f"component_{components['api'].public_id}": "partial_outage",
    }
    data.update(overrides)
    return data


def preview(client, incident, data):
    response = client.post(url(incident), {**data, "action": "preview"})
    token = re.search(r'name="preview_token" value="([^"]+)"', response.content.decode())
    return response, token.group(1) if token else None


def test_the_liaison_previews_then_publishes(
    client, components, liaison, incident, django_capture_on_commit_callbacks
):
    client.force_login(liaison)
    page = client.get(url(incident))
    assert page.status_code == 200
    assert "We are investigating reports of problems" in page.content.decode()  # the template

    data = form_data(components)
    response, token = preview(client, incident, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Preview the public update" in html and "Some payments fail. We are on it." in html
    assert token
    assert PublicUpdate.objects.count() == 0  # a preview writes nothing

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url(incident), {**data, "action": "publish", "preview_token": token})
    assert done.status_code == 302 and done.url == incident.get_absolute_url()
    update = PublicUpdate.objects.get()
    assert update.public_incident.name == "Checkout errors in the EU"
    assert update.status == "investigating" and update.author == liaison
    components["api"].refresh_from_db()
    assert components["api"].status == "partial_outage"
    change = ComponentStatusChange.objects.get()
    assert (change.old_status, change.new_status, change.public_update) == (
        "operational",
        "partial_outage",
        update,
    )
    entry = TimelineEntry.objects.get(kind="public_update", incident=incident)
    assert update.timeline_entry == entry
    assert "Checkout errors in the EU" in entry.body and "Some payments fail" in entry.body
    assert entry.data["public_update"] == update.public_id
    assert "Checkout errors in the EU" in client.get("/status/").content.decode()


def test_publishing_needs_a_preview_of_exactly_what_is_published(client, components, liaison, incident):
    client.force_login(liaison)
    data = form_data(components)
    _, token = preview(client, incident, data)
    changed = {**data, "body": "Something else entirely.", "action": "publish", "preview_token": token}
    response = client.post(url(incident), changed)
    assert response.status_code == 409
    assert "changed since its preview" in response.content.decode()
    no_token = client.post(url(incident), {**data, "action": "publish"})
    assert no_token.status_code == 409
    assert PublicUpdate.objects.count() == 0


def test_the_template_button_fills_in_the_message_for_the_status(client, components, liaison, incident):
    client.force_login(liaison)
    response = client.post(
        url(incident), form_data(components, status="monitoring", body="", action="template")
    )
    assert response.status_code == 200
    assert "A fix has been put in place and we are monitoring the results." in response.content.decode()
    unticked = form_data(components, status="resolved", action="template")
    del unticked["deliver_notifications"]
    html = client.post(url(incident), unticked).content.decode()
    assert 'name="deliver_notifications" checked' not in html
    assert 'name="deliver_notifications" checked' in response.content.decode()


def test_the_incident_commander_and_admins_may_publish(client, components, incident, admin_user):
    commander = UserFactory()
    RoleAssignment.objects.create(incident=incident, role="incident_commander", user=commander)
    for user in (commander, admin_user):
        client.force_login(user)
        assert client.get(url(incident)).status_code == 200


def test_other_responders_may_not_publish(client, components, incident, liaison):
    scribe = UserFactory()
    RoleAssignment.objects.create(incident=incident, role="scribe", user=scribe)
    client.force_login(scribe)
    assert client.get(url(incident)).status_code == 403
    response = client.post(url(incident), {**form_data(components), "action": "preview"})
    assert response.status_code == 403
    with pytest.raises(StatuspageError, match="customer liaison or the incident commander"):
        statuspage_publish_update(incident=incident, by=scribe, title="x", status="investigating", body="y")
    assert PublicUpdate.objects.count() == 0


def test_a_liaison_whose_role_ended_may_not_publish(client, components, incident, liaison):
    from django.utils import timezone

    RoleAssignment.objects.filter(user=liaison).update(ended_at=timezone.now())
    client.force_login(liaison)
    assert client.get(url(incident)).status_code == 403


def test_an_outsider_cannot_even_find_a_restricted_incident(client, components, security_incident):
    client.force_login(UserFactory())
    assert client.get(url(security_incident)).status_code == 404
    assert client.post(url(security_incident), form_data(components)).status_code == 404


def test_signing_in_is_required(client, incident):
    response = client.get(url(incident))
    assert response.status_code == 302 and "/accounts/login/" in response.url


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"body": "   "}, "needs a message"),
        ({"title": ""}, "needs a public title"),
        ({"status": "postmortem"}, "Select a valid choice"),
        ({"status": "fixed"}, "Select a valid choice"),
        ({"impact": "apocalyptic"}, "Select a valid choice"),
    ],
)
def test_bad_input_is_refused_with_the_reason_and_nothing_is_written(
    client, components, liaison, incident, overrides, reason
):
    client.force_login(liaison)
    response = client.post(url(incident), {**form_data(components, **overrides), "action": "preview"})
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert PublicUpdate.objects.count() == 0 and PublicIncident.objects.count() == 0


def test_an_impossible_component_status_is_refused(client, components, liaison, incident):
    client.force_login(liaison)
    field = f"component_{components['api'].public_id}"
    for value in ("under_maintenance", "on_fire"):
        response = client.post(
            url(incident), {**form_data(components, **{field: value}), "action": "preview"}
        )
        assert response.status_code == 400
        assert "is not a status API can take in an incident update" in response.content.decode()
    assert ComponentStatusChange.objects.count() == 0


@pytest.mark.parametrize(
    ("statuses", "reason"),
    [
        ({"api": "under_maintenance"}, "schedule a maintenance"),
        ({"api": "melted"}, "not a component status"),
        ({"platform": "major_outage"}, "is a group"),
        ({"nosuchcompon": "major_outage"}, "There is no component"),
    ],
)
def test_the_service_refuses_impossible_component_statuses(components, liaison, incident, statuses, reason):
    ids = {components[k].public_id if k in components else k: v for k, v in statuses.items()}
    with pytest.raises(StatuspageError, match=reason):
        statuspage_publish_update(
            incident=incident, by=liaison, title="t", status="investigating", body="b", component_statuses=ids
        )
    assert PublicUpdate.objects.count() == 0
    assert not TimelineEntry.objects.filter(kind="public_update").exists()


def test_a_security_incident_is_published_only_on_purpose(
    client, components, liaison, security_incident, publish
):
    with pytest.raises(StatuspageError, match="security incident"):
        statuspage_publish_update(
            incident=security_incident, by=liaison, title="Login issue", status="investigating", body="b"
        )
    client.force_login(liaison)
    page = client.get(url(security_incident)).content.decode()
    assert 'value="[Security]' not in page  # the internal title is not offered as the public one
    response = client.post(url(security_incident), {**form_data(components), "action": "preview"})
    assert response.status_code == 400 and "confirm that you mean to" in response.content.decode()
    assert PublicIncident.objects.count() == 0

    update = publish(incident=security_incident, by=liaison, title="Login issue", confirm_restricted=True)
    assert update.public_incident.incident == security_incident


def test_an_update_changes_status_and_timestamps(components, liaison, incident, publish):
    publish(incident=incident, by=liaison)
    publish(incident=incident, by=liaison, status="monitoring", body="Watching.")
    public = publish(incident=incident, by=liaison, status="resolved", body="Fixed.").public_incident
    assert public.status == "resolved" and public.monitoring_at and public.resolved_at
    assert public.updates.count() == 3
    reopened = publish(
        incident=incident, by=liaison, status="investigating", body="It is back."
    ).public_incident
    assert reopened.resolved_at is None
    assert PublicIncident.objects.count() == 1
    assert TimelineEntry.objects.filter(kind="public_update", incident=incident).count() == 4


def test_the_room_links_to_the_publish_page(client, liaison, incident):
    client.force_login(liaison)
    html = client.get(incident.get_absolute_url()).content.decode()
    assert url(incident) in html

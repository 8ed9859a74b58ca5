"""A direct update starts from the template for the incident's status: the room's form comes
pre-filled with it, an admin's edit of it is what the liaison gets next, and what is sent carries
the status, what is affected, the ETA and where to join, filled in for each customer."""

import html
import re

from customers.models import UpdateTemplate
from customers.services.updates import DEFAULT_TEMPLATES
from incidents.services.tools import incident_set_contacts
from statuspage.selectors import page_settings
from tests.factories import UserFactory

HX = {"HX-Request": "true"}


def _prefilled(client, incident) -> tuple[str, str]:
    """(subject, text) as the liaison finds them in the room's compose form."""
    page = client.get(f"/incidents/{incident.number}/customers/compose/", headers=HX).content.decode()
    subject = re.search(r'<input type="text" name="subject"[^>]* value="([^"]*)"', page)
    text = re.search(r'<textarea name="text"[^>]*>(.*?)</textarea>', page, re.S)
    assert subject and text, "no compose form"
    return html.unescape(subject[1]), html.unescape(text[1])


def _admin_edit(client, template: UpdateTemplate, *, subject: str, body: str) -> None:
    response = client.post(
        f"/admin/customers/updatetemplate/{template.pk}/change/",
        {"status": template.status, "subject": subject, "body": body},
    )
    assert response.status_code == 302, response.content.decode()[:2000]


def test_the_form_is_prefilled_from_the_template_for_the_status(client, sev1, liaison, acme):
    stored = UpdateTemplate.objects.get(status=sev1.status)
    client.force_login(liaison)
    assert _prefilled(client, sev1) == (stored.subject, stored.body)
    assert "{customer}" in stored.body  # filled in for each customer when sent, not in the form


def test_an_admin_edited_template_is_used_and_the_message_carries_the_facts(
    client, sev1, liaison, acme, globex, smtp, admin_user, django_capture_on_commit_callbacks
):
    incident_set_contacts(
        incident=sev1, by=liaison, bridge_url="https://meet.example.com/inc", chat_channel="#inc-checkout"
    )
    template = UpdateTemplate.objects.get(status=sev1.status)
    client.force_login(admin_user)
    _admin_edit(
        client,
        template,
        subject="[{company}] {customer}: trouble with {affected}",
        body="Dear {customer},\n\nOur engineers are on the {affected} problem ({status}). "
        "Expect a fix {eta}.",
    )

    client.force_login(liaison)
    subject, text = _prefilled(client, sev1)
    assert subject == "[{company}] {customer}: trouble with {affected}"
    assert text.startswith("Dear {customer},")

    # The liaison sends it as it came, with an ETA two hours away.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/incidents/{sev1.number}/customers/update/",
            {"to": "all", "subject": subject, "text": text, "eta_in": "120"},
            headers=HX,
        )
    assert response.status_code == 200 and "Sent to 2 customers." in response.content.decode()

    company = page_settings().name
    mail = {r: m for m in smtp.received for r in m.recipients}
    acme_mail = mail["jane.roe@mail.example"]  # a major incident: the alternate address too
    assert acme_mail.subject == f"[{company}] Acme Corp: trouble with Checkout"
    body = acme_mail.text
    assert "Dear Acme Corp," in body and "on the Checkout problem (Investigating)" in body
    assert "Expect a fix " in body and "(in about 2 hours)." in body
    # The facts every update carries, whatever the text says.
    assert "Status: Investigating" in body
    assert "Affected: Checkout" in body
    assert re.search(r"Estimated time to fix: .+\(in about 2 hours\)", body)
    assert "Where to join: call: https://meet.example.com/inc · chat: #inc-checkout" in body
    assert "{customer}" not in body and "{eta}" not in body
    assert mail["hank@globex.example"].subject == f"[{company}] Globex: trouble with Checkout"


def test_without_a_template_for_the_status_the_built_in_text_is_offered(
    client, sev1, liaison, acme, admin_user
):
    template = UpdateTemplate.objects.get(status=sev1.status)
    client.force_login(admin_user)
    response = client.post(f"/admin/customers/updatetemplate/{template.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not UpdateTemplate.objects.filter(status=sev1.status).exists()
    client.force_login(liaison)
    assert _prefilled(client, sev1) == DEFAULT_TEMPLATES[sev1.status]


def test_only_admins_edit_the_templates(client, sev1, liaison):
    template = UpdateTemplate.objects.get(status=sev1.status)
    before = (template.subject, template.body)
    for person in (liaison, UserFactory(is_staff=True)):
        client.force_login(person)
        response = client.post(
            f"/admin/customers/updatetemplate/{template.pk}/change/",
            {"status": template.status, "subject": "Hacked", "body": "Hacked"},
        )
        assert response.status_code in (302, 403)
        assert response.status_code == 403 or "/admin/login/" in response["Location"]
    template.refresh_from_db()
    assert (template.subject, template.body) == before

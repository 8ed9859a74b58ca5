"""Affected customers in Chromium, against a local SMTP sink.

A SEV-1 on Checkout, which two customers use (a third uses only Search): the room lists the
two. The customer liaison sends them an update with an ETA two hours away: both addresses of
every contact receive it. The room asks to call them, with their phone numbers; the beat's
reminder repeats until each is recorded as called; then it stops. The IC resolves: the
liaison gets a follow-up per customer, and confirming one takes it off the list.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from comms.models import Message
from customers.models import CustomerFollowUp
from customers.services import call_reminders_send, customer_create
from incidents.models import Incident
from incidents.services.tools import verification_record
from roles.models import Service, Task
from roles.services import role_assign
from tests.comms.smtp_sink import SinkServer
from tests.factories import IncidentFactory, UserFactory, trained_commander

pytestmark = [pytest.mark.browser, pytest.mark.realclock, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def smtp(settings):
    with SinkServer() as server:
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": server.port, "timeout": 5},
            }
        }
        yield server.sink


def test_the_liaison_tells_calls_and_follows_up_with_the_affected_customers(page_for, live_server, smtp):
    checkout = Service.objects.create(name="Checkout")
    search = Service.objects.create(name="Search")
    acme = customer_create(
        name="Acme Corp",
        services=[checkout],
        contacts=[
            {
                "name": "Jane Roe",
                "email": "jane@acme.example",
                "alternate_email": "jane.roe@mail.example",
                "phone": "+1 555 0100",
                "preferred_channel": "phone",
            }
        ],
    )
    customer_create(
        name="Globex",
        services=[checkout, search],
        contacts=[
            {
                "name": "Hank Scorpio",
                "email": "hank@globex.example",
                "alternate_email": "hank@volcano.example",
                "phone": "+1 555 0199",
            }
        ],
    )
    customer_create(
        name="Initech", services=[search], contacts=[{"name": "Peter", "email": "p@initech.example"}]
    )
    ic = trained_commander(UserFactory(first_name="Iris", last_name="Commander"))
    liaison = UserFactory(first_name="Cory", last_name="Liaison")
    incident = IncidentFactory(
        declared_by=ic,
        severity=1,
        title="[Outage]: Checkout fails",
        rollback_considered="No",
        services=[checkout],
    )
    role_assign(incident=incident, role="incident_commander", user=ic, by=None)
    role_assign(incident=incident, role="customer_liaison", user=liaison, by=ic)

    page = page_for(liaison)
    page.set_default_timeout(20_000)  # a shared 2-core machine: rendering waits, not failures
    # Script errors and CSP violations (the room's stream has no server-sent events under the test's
    # WSGI server, and falls back to polling: the error event it logs for that is not ours).
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(live_server.url + incident.get_absolute_url())

    # The two customers using Checkout are listed (the panel loads after the room).
    panel = page.locator("#room-customers")
    panel.locator("h2 .count", has_text="2 affected").wait_for()
    names = panel.locator(".customer-list .customer-head strong").all_inner_texts()
    assert names == ["Acme Corp", "Globex"]

    # The liaison sends an update with an ETA two hours away.
    compose = page.locator("#room-customers-compose")
    compose.locator("summary").click()
    compose.locator("textarea[name=text]").fill("Hello {customer}, we are working on {affected}.")
    compose.locator("select[name=eta_in]").select_option("120")
    compose.locator("button[type=submit]").click()
    compose.locator(".message", has_text="Sent to 2 customers.").wait_for()

    received = {r: m for m in smtp.received for r in m.recipients}
    assert set(received) == {
        "jane@acme.example",
        "jane.roe@mail.example",
        "hank@globex.example",
        "hank@volcano.example",
    }
    assert "Hello Acme Corp, we are working on Checkout." in received["jane.roe@mail.example"].text
    assert "(in about 2 hours)" in received["hank@volcano.example"].text
    incident.refresh_from_db()
    assert incident.eta is not None and incident.eta - timezone.now() > timedelta(minutes=115)

    # Both customers' deliveries are listed in the room, and the call reminder appears.
    panel.locator(f"#customer-{acme.pk} .badge.delivery-delivered", has_text="2 delivered").wait_for()
    reminder = panel.locator(".call-reminder")
    reminder.wait_for()
    assert "+1 555 0100" in reminder.inner_text() and "+1 555 0199" in reminder.inner_text()
    assert call_reminders_send() == 1  # the beat tells the liaison, with the phone numbers
    later = timezone.now() + timedelta(minutes=16)
    assert call_reminders_send(now=later) == 1  # and again in the next period: nobody was called yet

    # "Called" is recorded for each; the reminder goes away, and the beat stops.
    for name, note in (("Acme Corp", "Jane knows, they wait"), ("Globex", "Hank will tell his team")):
        row = reminder.locator("li", has_text=name)
        row.locator("input[name=note]").fill(note)
        row.locator("button[value=called]").click()
        panel.locator(".customer-line", has_text=note).wait_for()
    reminder.wait_for(state="detached")
    assert call_reminders_send(now=later + timedelta(minutes=15)) == 0
    assert Message.objects.filter(dedup_key__startswith=f"customers:call:{incident.pk}:").count() == 2

    # The IC resolves in the room: the liaison gets a follow-up per customer.
    verification_record(incident=incident, by=ic, checked="Orders go through from the EU and the US")
    ic_page = page_for(ic)
    ic_page.set_default_timeout(20_000)
    ic_page.goto(live_server.url + incident.get_absolute_url())
    ic_page.select_option("#status-select", "resolved")
    ic_page.click("#room-controls form[action$='/status/'] button[type=submit]")
    ic_page.locator("#room-header .badge-status", has_text="Resolved").wait_for()

    follow_ups = panel.locator(".follow-ups")
    follow_ups.wait_for()  # the liaison's room reloads the panel by itself
    assert follow_ups.locator("li strong").all_inner_texts() == ["Acme Corp", "Globex"]
    assert Task.objects.filter(incident=incident, assignee=liaison, state="open").count() == 2

    # Confirming one takes that customer off the list.
    acme_row = follow_ups.locator(f"#follow-up-{acme.pk}")
    acme_row.locator("input[name=note]").fill("Jane: orders flow again")
    acme_row.locator("button[value=confirmed]").click()
    panel.locator(f"#customer-{acme.pk} .follow-up-confirmed", has_text="Confirmed working").wait_for()
    assert follow_ups.locator("li strong").all_inner_texts() == ["Globex"]
    assert CustomerFollowUp.objects.get(affected__customer=acme).state == "confirmed"
    assert Task.objects.filter(incident=incident, assignee=liaison, state="open").count() == 1
    assert Incident.objects.get(pk=incident.pk).status == "resolved"
    assert problems == []

"""In a real Chromium: a person adds a contact method on their profile and sends a test, answered in
place, to a local HTTP receiver standing in for their ntfy server."""

import json

import pytest

from comms.models import ContactMethod, Delivery
from tests.comms.outbound import Receiver
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.realclock, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-Zq8xVt3kLm"


def test_a_person_adds_a_contact_method_and_sends_a_test(page_for, live_server, settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]  # the admin allows the self-hosted ntfy by name
    alice = UserFactory(first_name="Alice", last_name="Oncall", email="alice@example.com")
    page = page_for(alice)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    with Receiver() as ntfy:
        page.goto(f"{live_server.url}/")
        page.click("a.topbar-link:has-text('Profile')")
        page.locator("h1", has_text="How pages reach you").wait_for()
        page.fill("input[name=label]", "Phone (ntfy)")
        page.fill("input[name=url]", f"ntfy://alice:{PASSWORD}@127.0.0.1:{ntfy.port}/alice-pager")
        page.click("button:has-text('Add contact method')")
        page.locator(".message", has_text="“Phone (ntfy)” is saved").wait_for()
        method = ContactMethod.objects.get(user=alice)
        row = page.locator(f"#method-{method.pk}")
        assert "ntfy://127.0.0.1/…" in row.inner_text()
        assert PASSWORD not in page.content() and "alice-pager" not in page.content()

        profile_url = page.url
        row.locator("button:has-text('Send test')").click()
        result = page.locator(f"#test-{method.pk}")
        result.locator(".badge", has_text="Sent").wait_for()
        assert page.url == profile_url  # answered in place, no new page
        assert "check that it arrived" in result.inner_text()

    assert len(ntfy.requests) == 1
    sent = json.loads(ntfy.requests[0][2])
    assert sent["topic"] == "alice-pager" and sent["title"] == "Coolhead test: Phone (ntfy)"
    assert Delivery.objects.get(contact_method=method).state == Delivery.State.SENT
    assert problems == []

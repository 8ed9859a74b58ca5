"""A SEV-1 worked as the lessons-learned essay describes, in two real Chromium browsers.

Raise from SEV-3 (the rollback question appears), record a change with its old
value, rule out "database" with evidence, decide a patch, restore the change,
verify, try to resolve with a change in place (keep or restore is asked),
resolve. The second browser sees each step without reloading.
"""

import pytest

from incidents.models import Change, Decision, Hypothesis, Incident
from incidents.services import incident_declare
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.realclock, pytest.mark.django_db(transaction=True)]

SEEN = 6_000  # ms the second browser may take (the room polls every 2 s)


def _submit(page, form_selector: str) -> None:
    page.locator(f"{form_selector} button[type=submit]").first.click()


def test_a_sev1_is_worked_with_the_response_tools(page_for, live_server):
    iris = UserFactory(first_name="Iris", last_name="Commander")
    sasha = UserFactory(first_name="Sasha", last_name="Expert")
    incident = incident_declare(title="[Outage]: Checkout fails", severity=3, declared_by=iris)
    url = live_server.url + incident.get_absolute_url()
    ic, expert = page_for(iris), page_for(sasha)
    ic.goto(url)
    expert.goto(url)

    # Raise to SEV-1: the rollback question appears at the top, in both rooms.
    ic.select_option("#severity-select", "1")
    ic.click("#room-controls form[action$='/severity/'] button[type=submit]")
    ic.locator("#room-header-forms .rollback-question").wait_for()
    expert.locator("#room-header-forms .rollback-question").wait_for(timeout=SEEN)
    ic.fill("#room-header-forms input[name=answer]", "No: the migration cannot be undone")
    ic.click("#room-header-forms .rollback-question button[type=submit]")
    expert.locator("#room-header-forms .rollback-question").wait_for(state="detached", timeout=SEEN)

    # Sasha records a change with its old value.
    expert.click("#tool-changes summary")
    expert.fill("#tool-changes input[name=what]", "DB_POOL_SIZE")
    expert.fill("#tool-changes input[name=where]", "checkout env")
    expert.fill("#tool-changes input[name=old_value]", "20")
    expert.fill("#tool-changes input[name=new_value]", "80")
    _submit(expert, "#tool-changes form[action$='/changes/']")
    ic.locator("#tool-changes li.change", has_text="DB_POOL_SIZE").wait_for(timeout=SEEN)
    assert "20" in ic.locator("#tool-changes li.change").inner_text()

    # Rule out "database", with evidence.
    expert.fill("#tool-hypotheses input[name=statement]", "The database is the cause")
    _submit(expert, "#tool-hypotheses form[action$='/hypotheses/']")
    expert.locator("#tool-hypotheses li.hypothesis", has_text="The database").wait_for()
    expert.click("#tool-hypotheses li.hypothesis summary")
    expert.click("#tool-hypotheses label.chip:has-text('Ruled out')")
    expert.fill("#tool-hypotheses input[name=evidence]", "Database not affected, just checked the logs")
    _submit(expert, "#tool-hypotheses li.hypothesis form")
    ic.locator("#tool-hypotheses li.state-ruled_out", has_text="just checked the logs").wait_for(timeout=SEEN)

    # Iris decides a patch.
    ic.click("#tool-decisions summary")
    ic.click("#tool-decisions label.chip:has-text('Patch')")
    ic.fill("#tool-decisions input[name=summary]", "Raise the pool until the fix ships")
    ic.fill("#tool-decisions textarea[name=reason]", "Buys time; the real fix is in the driver")
    _submit(ic, "#tool-decisions form[action$='/decisions/']")
    expert.locator("#tool-decisions li.decision", has_text="Raise the pool").wait_for(timeout=SEEN)

    # Sasha restores the change: it leaves the panel in both rooms.
    expert.click("#tool-changes li.change button:has-text('Restore')")
    ic.locator("#tool-changes li.muted", has_text="No change is in place").wait_for(timeout=SEEN)

    # A second change stays in place; Iris verifies and tries to resolve.
    expert.click("#tool-changes summary")
    expert.fill("#tool-changes input[name=what]", "feature_checkout_v2")
    expert.fill("#tool-changes input[name=where]", "flags")
    expert.fill("#tool-changes input[name=old_value]", "on")
    expert.fill("#tool-changes input[name=new_value]", "off")
    _submit(expert, "#tool-changes form[action$='/changes/']")
    ic.locator("#tool-changes li.change", has_text="feature_checkout_v2").wait_for(timeout=SEEN)
    ic.fill("#tool-verification input[name=checked]", "Checkout works from three regions")
    _submit(ic, "#tool-verification form")
    expert.locator("#tool-verification li.result-passed").wait_for(timeout=SEEN)

    ic.select_option("#status-select", "resolved")
    ic.click("#room-controls form[action$='/status/'] button[type=submit]")
    settle = ic.locator("#room-controls form.settle")
    settle.wait_for()
    assert "feature_checkout_v2" in settle.inner_text()
    incident.refresh_from_db()
    assert incident.status == Incident.Status.TRIAGE  # nothing resolved yet

    # Keep it, and resolve: the second browser sees the incident resolved.
    change = Change.objects.get(what="feature_checkout_v2")
    ic.click(f"#room-controls label.chip:has(input[name=settle_{change.pk}][value=keep])")
    ic.click("#room-controls form.settle button[type=submit]")
    expert.locator("#room-header .badge-status", has_text="Resolved").wait_for(timeout=SEEN)

    incident.refresh_from_db()
    change.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED
    assert change.state == Change.State.KEPT
    original = Change.objects.get(what="DB_POOL_SIZE", restores__isnull=True)
    assert original.state == Change.State.REVERTED and original.restored_by.new_value == "20"
    assert Hypothesis.objects.get().state == Hypothesis.State.RULED_OUT
    assert Decision.objects.get().kind == Decision.Kind.PATCH

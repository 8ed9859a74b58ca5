"""After an incident, in Chromium: resolve a worked SEV-1, and its review is there, pre-filled.

Roles, a page answered, a change, a patch decision and public updates are made by the
services (tests/reviews/helpers.py); the IC resolves in the room. Then: the draft review
shows every pre-filled part, the patch has its follow-up; the IC writes the sections,
schedules the meeting, publishes with a postmortem for the status page, exports
Markdown; the follow-up is on its owner's page and dashboard; the insights page counts
the incident. No page of it breaks the Content-Security-Policy.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from comms.models import Message
from reviews.models import FollowUp, Review
from statuspage.models import PublicIncident
from tests.reviews.helpers import worked_sev1

pytestmark = [pytest.mark.browser, pytest.mark.realclock, pytest.mark.django_db(transaction=True)]


def test_a_resolved_sev1_gets_its_review_written_published_and_counted(page_for, live_server, tmp_path):
    worked = worked_sev1(resolve=False)
    incident, ic = worked["incident"], worked["ic"]
    page = page_for(ic)
    page.set_default_timeout(20_000)  # a shared 2-core machine: rendering waits, not failures
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)

    # Resolve in the room: the change still in place is kept.
    page.goto(live_server.url + incident.get_absolute_url())
    page.select_option("#status-select", "resolved")
    page.click("#room-controls form[action$='/status/'] button[type=submit]")
    page.locator("#room-controls form.settle").wait_for()
    page.click("#room-controls form.settle label.chip:has-text('Keep')")
    page.click("#room-controls form.settle button[type=submit]")
    page.locator("#room-header .badge-status", has_text="Resolved").wait_for()

    review = Review.objects.get(incident=incident)
    assert review.owner == ic and review.state == Review.State.DRAFT
    patch_follow_up = FollowUp.objects.get(source_decision=worked["decision"])
    assert patch_follow_up.owner == ic

    # The room points to the review; the review is pre-filled from the record.
    page.reload()
    # The card loads after the room.
    page.locator("#room-review a", has_text="Post-incident review").wait_for()
    page.click("#room-review a:has-text('Post-incident review')")
    record = page.locator("#record")
    record.wait_for()
    text = record.inner_text()
    for expected in (
        "SEV-1",
        "declared SEV-3",
        "Incident Commander",
        "Iris Commander",
        "Customer Liaison",
        "Cleo Liaison",
        "Sasha Expert",
        "Checkout",
        "Major outage",
        "Investigating",
        "Resolved",
        "DB_POOL_SIZE",
        "20",
        "80",
        "Patch",
        "Raise the pool",
    ):
        assert expected in text, expected
    for label in ("Time to acknowledge", "Time to mitigate", "Time to resolve"):
        assert label in text
    timeline = page.locator("#timeline").inner_text()
    assert "Connection pool exhausted" in timeline and "Severity change" in timeline
    assert "Replace the patch with a real fix" in page.locator("#follow-ups").inner_text()

    # Write the sections (a hint about blame shows, and is ignored), add a factor with a why.
    page.fill("#section-summary", "Checkout failed for 20 minutes because the pool ran out.")
    page.fill("#section-customer_impact", "Every checkout failed.")
    page.fill("#section-detection", "An alert on pool saturation would have caught it early.")
    page.fill("#section-went_badly", "Sasha forgot to check the pool size.")
    page.fill("#section-lessons", "Size pools with the traffic forecast.")
    page.click("#write button[type=submit]")
    page.locator(".blameless-hint", has_text="Sasha forgot").wait_for()
    page.fill("#factors input[name=text]", "The pool was sized for last year's traffic")
    page.click("#factors form.add-factor button[type=submit]")
    page.locator("#factors .factor-text", has_text="last year's traffic").wait_for()

    # Schedule the meeting: the invitations with a calendar file are in the outbox.
    when = timezone.localtime(timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    page.fill("#meeting input[name=at]", when.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#meeting input[name=location]", "Room 4")
    page.click("#meeting button[type=submit]")
    page.locator("#meeting", has_text="Room 4").wait_for()
    invitation = Message.objects.get(dedup_key=f"review:invite:{review.pk}:1")
    assert "BEGIN:VCALENDAR" in invitation.context["attachments"][0]["content"]

    # Publish, with a postmortem for the status page.
    page.fill("#public-postmortem", "A connection pool ran out. We now alert before it does.")
    page.click("#publish button[type=submit]")
    page.locator(".review-state .badge", has_text="Published").wait_for()
    assert PublicIncident.objects.get(incident=incident).status == "postmortem"

    # Export Markdown.
    with page.expect_download() as download:
        page.click("a:has-text('Export Markdown')")
    path = tmp_path / "review.md"
    download.value.save_as(path)
    markdown = path.read_text()
    assert markdown.startswith(f"# Post-incident review: {incident.reference}")
    assert "The pool was sized for last year's traffic" in markdown and "DB_POOL_SIZE" in markdown

    # The follow-up is on its owner's page and dashboard.
    page.goto(live_server.url + "/follow-ups/")
    page.locator(".follow-up-table", has_text="Replace the patch with a real fix").wait_for()
    page.goto(live_server.url + "/")
    page.locator(".my-follow-ups", has_text="Replace the patch with a real fix").wait_for()

    # The insights page shows the incident in its charts and tables.
    page.goto(live_server.url + "/insights/?days=30")
    page.locator("#chart-weekly svg.chart rect.chart-bar.sev-1").first.wait_for()
    sev1_row = page.locator("#chart-clocks tbody tr", has_text="SEV-1").inner_text().split()
    assert sev1_row[1] == "1"  # one SEV-1 incident
    assert page.locator("#chart-reviews tbody", has_text="Published on time").inner_text()
    assert violations == []

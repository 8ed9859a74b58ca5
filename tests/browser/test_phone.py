"""The room's response tools on a phone ("usable on a phone", issue 12): at 390×844, with touch,
a responder opens the tools, records a change and a hypothesis and rules it out, and the
page never scrolls sideways."""

import pytest

from incidents.models import Change, Hypothesis
from incidents.services import incident_declare
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.realclock, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}

# What sticks out past the right edge, named, so a failure says which part of the room.
WIDER_THAN_THE_SCREEN = """() => {
  const width = Math.min(window.innerWidth, 390);
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    const spills = el.scrollWidth > el.clientWidth + 1 && style.overflowX === 'visible';
    if (box.width && (box.right > width + 1 || spills) && style.position !== 'fixed') {
      const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '');
      wide.push(`${name}.${[...el.classList].join('.')} right=${Math.round(box.right)}`);
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width, wide: wide.slice(0, 8)};
}"""


@pytest.fixture
def phone_for(page_for):
    """A phone-sized page signed in as the given user."""
    return lambda user: page_for(user, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)


def _fits(page, when: str) -> None:
    # Against the phone's width, not only innerWidth: a mobile browser zooms out to show
    # content that overflows, and innerWidth grows with it.
    measured = page.evaluate(WIDER_THAN_THE_SCREEN)
    assert measured["innerWidth"] == PHONE["width"], f"{when}: zoomed out to fit {measured}"
    assert measured["scrollWidth"] <= PHONE["width"], f"{when}: {measured}"


def test_the_response_tools_work_on_a_phone_without_scrolling_sideways(phone_for, live_server):
    sasha = UserFactory(first_name="Sasha", last_name="Expert")
    incident = incident_declare(
        title="[Outage]: Checkout fails for every customer in the EU region",
        severity=1,
        declared_by=sasha,
    )
    phone = phone_for(sasha)
    phone.goto(live_server.url + incident.get_absolute_url())
    assert phone.evaluate("window.innerWidth") == PHONE["width"]
    phone.locator("#room-header-forms .rollback-question").wait_for()
    _fits(phone, "the room as it opens")

    # Open the changes tool and record one, with a long value that must wrap, not widen the page.
    tools = phone.locator("#room-tools")
    tools.scroll_into_view_if_needed()
    phone.locator("#tool-changes summary").first.tap()
    phone.fill("#tool-changes input[name=what]", "DB_POOL_SIZE")
    phone.fill("#tool-changes input[name=where]", "checkout-service production environment")
    phone.fill("#tool-changes input[name=old_value]", "20")
    phone.fill("#tool-changes input[name=new_value]", "postgres://pool.checkout.internal:6432/" + "x" * 80)
    _fits(phone, "the change form open")
    phone.locator("#tool-changes form[action$='/changes/'] button[type=submit]").tap()
    phone.locator("#tool-changes li.change", has_text="DB_POOL_SIZE").wait_for()
    assert Change.objects.get().old_value == "20"
    _fits(phone, "a change in place")

    # Raise a hypothesis, then rule it out with evidence.
    phone.fill("#tool-hypotheses input[name=statement]", "The database is the cause")
    phone.locator("#tool-hypotheses form[action$='/hypotheses/'] button[type=submit]").tap()
    phone.locator("#tool-hypotheses li.hypothesis", has_text="The database").wait_for()
    phone.locator("#tool-hypotheses li.hypothesis summary").tap()
    phone.locator("#tool-hypotheses label.chip:has-text('Ruled out')").tap()
    phone.fill("#tool-hypotheses input[name=evidence]", "Database not affected, just checked the logs")
    _fits(phone, "the verdict form open")
    phone.locator("#tool-hypotheses li.hypothesis form button[type=submit]").tap()
    phone.locator("#tool-hypotheses li.state-ruled_out", has_text="just checked the logs").wait_for()
    assert Hypothesis.objects.get().state == "ruled_out"
    _fits(phone, "a ruled-out hypothesis")

    # Every tool's button is on the screen's width, so a thumb reaches it.
    for selector in (
        "#tool-changes li.change button:has-text('Restore')",
        "#tool-decisions summary",
        "#tool-verification button[type=submit]",
    ):
        box = phone.locator(selector).first.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], selector

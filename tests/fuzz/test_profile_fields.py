"""Hypothesis against the profile's forms (contact methods, notification rules): a 4xx or a success,
never a 5xx; a 4xx writes nothing; no URL typed comes back in the page."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comms.models import ContactMethod
from roles.models import NotificationRule
from tests.factories import UserFactory
from tests.fuzz.test_every_field import FUZZ, NASTY, form_text

pytestmark = pytest.mark.django_db
# Each example renders the whole profile page: fewer than the other surfaces, same seed.
PROFILE_FUZZ = settings(FUZZ, max_examples=15)

apprise_like = st.one_of(
    form_text,
    st.sampled_from(
        [
            "ntfys://ntfy.example.com/topic",
            "ntfys://",
            "ntfy://localhost/x",
            "json://127.0.0.1:1/x",
            "json://[::1]/x",
            "json://2130706433/x",
            "pover://ukey@token",
            "mailto://a:b@example.com",
            "dbus://",
            "windows://",
            "ntfys://ntfy.example.com/" + "x" * 3000,
            "ntfys://ｌｏｃａｌｈｏｓｔ/x",
            "json://user:pass@[fe80::1%25eth0]/x",
            "tgram://\x00/x",
            "slack://" + "a/" * 500,
        ]
    ),
    st.builds(
        lambda scheme, rest: f"{scheme}://{rest}",
        st.sampled_from(["ntfy", "json", "pover", "xml"]),
        form_text,
    ),
)


@pytest.fixture
def alice(db):
    return UserFactory(username="fuzz-alice", email="alice@example.com")


@PROFILE_FUZZ
@given(label=form_text, url=apprise_like)
def test_the_contact_method_form(client, alice, label, url):
    client.force_login(alice)
    before = ContactMethod.objects.count()
    response = client.post("/settings/profile/contact-methods/", {"label": label, "url": url})
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 400:
        assert ContactMethod.objects.count() == before
        if len(url.strip()) >= 8 and url.strip() not in label and "://" in url:
            assert url.strip() not in response.content.decode()  # not written back into the form
    ContactMethod.objects.all().delete()


@PROFILE_FUZZ
@given(
    urgency=st.one_of(st.sampled_from(["major", "other"]), form_text),
    method=st.one_of(st.sampled_from(["email", "1", "-1", "999999999999999999999"]), form_text),
    delay=st.one_of(st.sampled_from(["0", "5", "120", "121", "-1", "1e9"] + NASTY[:10]), form_text),
)
def test_the_rule_form(client, alice, urgency, method, delay):
    client.force_login(alice)
    response = client.post(
        "/settings/profile/rules/", {"urgency": urgency, "method": method, "delay_minutes": delay}
    )
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 400:
        assert not NotificationRule.objects.exists()
    NotificationRule.objects.all().delete()

"""The profile page: a person adds a contact method, sends a test (answered in place), keeps rules."""

import pytest

from comms.models import ContactMethod, Delivery
from comms.services import contact_method_add
from roles.models import NotificationRule
from tests.comms.outbound import Receiver
from tests.roles.conftest import person

PASSWORD = "pw-Zq8xVt3kLm"


@pytest.fixture
def alice(db):
    return person("Alice Oncall", email="alice@example.com")


@pytest.fixture
def receiver(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    with Receiver() as r:
        yield r


def test_it_needs_a_sign_in(client, db):
    response = client.get("/settings/profile/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_adds_a_method_and_never_shows_its_url_again(client, alice, receiver):
    client.force_login(alice)
    url = f"json://alice:{PASSWORD}@127.0.0.1:{receiver.port}/hook"
    response = client.post("/settings/profile/contact-methods/", {"label": "Phone", "url": url}, follow=True)
    page = response.content.decode()
    assert response.status_code == 200 and "“Phone” is saved" in page
    assert "JSON" in page and "json://127.0.0.1/…" in page
    assert PASSWORD not in page and "/hook" not in page
    assert ContactMethod.objects.get(user=alice).label == "Phone"


def test_a_refused_url_is_explained_and_not_written_back(client, alice, settings):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    client.force_login(alice)
    url = f"json://alice:{PASSWORD}@10.0.0.5/hook"
    response = client.post("/settings/profile/contact-methods/", {"label": "Phone", "url": url})
    page = response.content.decode()
    assert response.status_code == 400 and "public address" in page
    assert PASSWORD not in page and not ContactMethod.objects.exists()


def test_send_test_answers_in_place(client, alice, receiver):
    method = contact_method_add(user=alice, label="Phone", url=f"json://127.0.0.1:{receiver.port}/hook")
    client.force_login(alice)
    response = client.post(
        f"/settings/profile/contact-methods/{method.pk}/test/", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    fragment = response.content.decode()
    assert "<html" not in fragment and "Sent" in fragment
    assert len(receiver.requests) == 1
    assert Delivery.objects.get(contact_method=method).state == Delivery.State.SENT

    receiver.status = 500
    response = client.post(
        f"/settings/profile/contact-methods/{method.pk}/test/", headers={"HX-Request": "true"}
    )
    assert "Failed, will retry" in response.content.decode()
    assert "JSON answered HTTP 500 Internal Server Error" in response.content.decode()


def test_the_result_of_a_test_a_worker_holds_is_polled(client, alice, receiver):
    method = contact_method_add(user=alice, label="Phone", url=f"json://127.0.0.1:{receiver.port}/hook")
    client.force_login(alice)
    client.post(f"/settings/profile/contact-methods/{method.pk}/test/", headers={"HX-Request": "true"})
    delivery = Delivery.objects.get(contact_method=method)
    Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.SENDING)
    polled = client.get(f"/settings/profile/tests/{delivery.pk}/").content.decode()
    assert "Sending…" in polled and f"/settings/profile/tests/{delivery.pk}/" in polled


def test_nobody_tests_removes_or_reads_someone_elses(client, alice, receiver):
    method = contact_method_add(user=alice, label="Phone", url=f"json://127.0.0.1:{receiver.port}/hook")
    client.force_login(alice)
    client.post(f"/settings/profile/contact-methods/{method.pk}/test/")
    delivery = Delivery.objects.get(contact_method=method)
    client.force_login(person("Mallory Meddler"))
    assert client.post(f"/settings/profile/contact-methods/{method.pk}/test/").status_code == 404
    assert client.post(f"/settings/profile/contact-methods/{method.pk}/remove/").status_code == 404
    assert client.get(f"/settings/profile/tests/{delivery.pk}/").status_code == 404
    assert len(receiver.requests) == 1 and ContactMethod.objects.filter(pk=method.pk).exists()


def test_rules_are_kept_and_shown_on_the_profile(client, alice):
    method = contact_method_add(user=alice, label="Phone", url="pover://ukey@apptoken")
    client.force_login(alice)
    for data in (
        {"urgency": "major", "method": str(method.pk), "delay_minutes": "0"},
        {"urgency": "major", "method": "email", "delay_minutes": "5"},
    ):
        assert client.post("/settings/profile/rules/", data).status_code == 302
    page = client.get("/settings/profile/").content.decode()
    assert "At once:\n      <strong>Phone</strong>" in page
    assert "After 5 minutes:\n      <strong>E-mail</strong>" in page
    refused = client.post(
        "/settings/profile/rules/", {"urgency": "major", "method": "email", "delay_minutes": "999"}
    )
    assert refused.status_code == 400
    rule = NotificationRule.objects.get(contact_method=None)
    assert client.post(f"/settings/profile/rules/{rule.pk}/remove/").status_code == 302
    assert list(NotificationRule.objects.values_list("contact_method__label", flat=True)) == ["Phone"]


def test_the_page_has_a_bounded_number_of_queries(client, alice, django_assert_max_num_queries):
    for n in range(5):
        method = contact_method_add(user=alice, label=f"Phone {n}", url=f"pover://ukey@apptoken{n}")
        NotificationRule.objects.create(user=alice, urgency="major", contact_method=method, delay_minutes=n)
    client.force_login(alice)
    with django_assert_max_num_queries(12):
        assert client.get("/settings/profile/").status_code == 200

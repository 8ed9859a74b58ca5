"""Signing in with e-mail and password (django-allauth), closed sign-up, password reset."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from tests.factories import UserFactory
from tests.incidents.pages import text_of

PASSWORD = "correct horse battery staple"


@pytest.fixture
def person(db):
    return UserFactory(email="iris@example.com", first_name="Iris", last_name="Commander")


def test_the_login_page_asks_for_an_email(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert re.search(
        r'<input[^>]*type="email"[^>]*name="login"|<input[^>]*name="login"[^>]*type="email"',
        response.content.decode(),
    )


def test_it_logs_in_with_email_and_password(client, person):
    response = client.post("/accounts/login/", {"login": "iris@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert int(client.session["_auth_user_id"]) == person.pk
    assert "Open incidents" in text_of(client.get("/"))


def test_it_logs_in_back_to_where_the_person_was_going(client, person):
    response = client.post(
        "/accounts/login/?next=/incidents/",
        {"login": "iris@example.com", "password": PASSWORD, "next": "/incidents/"},
    )
    assert response.headers["Location"] == "/incidents/"


@pytest.mark.parametrize(
    ("login", "password", "message"),
    [
        ("iris@example.com", "wrong password", "password you specified are not correct"),
        ("nobody@example.com", PASSWORD, "password you specified are not correct"),
        ("", "", "This field is required."),
    ],
)
def test_it_refuses_a_bad_login(client, person, login, password, message):
    response = client.post("/accounts/login/", {"login": login, "password": password})
    assert response.status_code == 200
    assert message in text_of(response)
    assert "_auth_user_id" not in client.session


def test_the_login_page_offers_no_sign_up_when_it_is_closed(client, db):
    assert "/accounts/signup/" not in client.get("/accounts/login/").content.decode()


def test_an_inactive_person_cannot_log_in(client, person):
    person.is_active = False
    person.save()
    client.post("/accounts/login/", {"login": "iris@example.com", "password": PASSWORD})
    assert "_auth_user_id" not in client.session


def test_sign_up_is_closed_by_default(client, db):
    response = client.get("/accounts/signup/")
    assert "sign up is currently closed" in text_of(response)
    assert 'name="password1"' not in response.content.decode()

    response = client.post(
        "/accounts/signup/",
        {
            "email": "mallory@example.com",
            "password1": "A-long-pass-phrase-42",
            "password2": "A-long-pass-phrase-42",
        },
    )
    assert not get_user_model().objects.filter(email="mallory@example.com").exists()
    assert "_auth_user_id" not in client.session


def test_sign_up_opens_when_configured(client, db, settings):
    settings.ACCOUNT_ALLOW_SIGNUP = True
    client.post(
        "/accounts/signup/",
        {
            "email": "new@example.com",
            "password1": "A-long-pass-phrase-42",
            "password2": "A-long-pass-phrase-42",
        },
    )
    assert get_user_model().objects.filter(email="new@example.com").exists()


def test_the_password_reset_sends_a_link_that_works(client, person, django_capture_on_commit_callbacks):
    from comms.models import Delivery

    assert client.get("/accounts/password/reset/").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password/reset/", {"email": "iris@example.com"})

    assert response.status_code == 302
    # Through the outbox, recorded like every message the portal sends.
    delivery = Delivery.objects.get(address="iris@example.com")
    assert delivery.state == Delivery.State.SENT
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["iris@example.com"]
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", message.body).group(1)

    # Following the link lets the person choose a new password, then log in with it.
    response = client.get(link, follow=True)
    assert response.status_code == 200
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else link
    response = client.post(
        form_url, {"password1": "A-new-pass-phrase-77", "password2": "A-new-pass-phrase-77"}
    )
    assert response.status_code == 302
    client.logout()
    client.post("/accounts/login/", {"login": "iris@example.com", "password": "A-new-pass-phrase-77"})
    assert int(client.session["_auth_user_id"]) == person.pk


def test_a_reset_for_an_unknown_address_sends_nothing_to_anyone_else(client, person):
    response = client.post("/accounts/password/reset/", {"email": "stranger@example.com"})
    assert response.status_code in (200, 302)
    assert all(message.to == ["stranger@example.com"] for message in mail.outbox)
    assert not any("iris@example.com" in message.to for message in mail.outbox)


def test_logging_out_takes_a_post(client, person):
    client.force_login(person)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302

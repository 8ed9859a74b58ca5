"""The blameless hint: sentences naming a person as the cause are pointed out; nothing is ever blocked."""

import pytest

from reviews.blameless import hints
from reviews.services import review_write
from tests.reviews.helpers import worked_sev1

NAMES = ["Sasha Expert", "Sasha", "Expert", "Bo"]


@pytest.mark.parametrize(
    "text",
    [
        "Sasha forgot to raise the pool.",
        "The deploy failed because of Sasha.",
        "It was Sasha's mistake.",
        "Checkout broke due to Sasha Expert.",
        "sasha didn't check the dashboard.",
        "This was human error.",
        "A careless change went out.",
    ],
)
def test_a_sentence_that_blames_is_pointed_out(text):
    assert hints(text, NAMES) == [text]


@pytest.mark.parametrize(
    "text",
    [
        "The pool was sized for last year's traffic.",
        "Sasha found the cause and rolled back.",
        "Nobody reviews pool sizes.",
        "The alert forgot nothing: it never existed.",
        "Bob forgot the runbook.",  # not a participant
        "Bottles were missed.",  # a name inside a word is not the name
        "",
    ],
)
def test_a_sentence_about_the_system_is_not(text):
    assert hints(text, NAMES) == []


def test_only_the_blaming_sentences_of_a_paragraph():
    text = "The pool ran out. Sasha forgot to raise it.\nWe now alert at 80%."
    assert hints(text, NAMES) == ["Sasha forgot to raise it."]


@pytest.mark.django_db
def test_the_review_page_shows_the_hint_and_still_saves(client):
    worked = worked_sev1()
    incident, ic = worked["incident"], worked["ic"]
    client.force_login(ic)
    response = client.post(
        f"/incidents/{incident.number}/review/write/",
        {"went_badly": "Sasha forgot to raise the pool."},
        follow=True,
    )
    assert response.status_code == 200
    incident.review.refresh_from_db()
    assert incident.review.went_badly == "Sasha forgot to raise the pool."
    body = response.content.decode()
    assert "blameless-hint" in body and "Sasha forgot to raise the pool." in body
    # Rewritten without blame: the hint goes away.
    review_write(review=incident.review, by=ic, sections={"went_badly": "Nothing checks the pool size."})
    assert "blameless-hint" not in client.get(f"/incidents/{incident.number}/review/").content.decode()

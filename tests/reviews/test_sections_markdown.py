"""The written sections are Markdown, sanitized like the timeline, on the review and on its print page."""

import pytest
from django.test import Client
from django.urls import reverse

from reviews.models import Review
from reviews.services import review_publish, review_write
from tests.reviews.helpers import worked_sev1

pytestmark = pytest.mark.django_db

WRITTEN = (
    "The pool was **exhausted** by retries.\n\n"
    "- checkout\n- payments\n\n"
    "<script>alert('x')</script> and [a trap](javascript:alert(1)) and [the graph](https://grafana.example/d/1)"
)


@pytest.fixture
def published():
    worked = worked_sev1()
    review = Review.objects.get(incident=worked["incident"])
    review_write(review=review, by=worked["ic"], sections={"summary": WRITTEN, "lessons": "Plain *words*."})
    review_publish(review=review, by=worked["ic"])
    client = Client()
    client.force_login(worked["sme"])
    return review, client


def _assert_rendered_and_sanitized(html: str) -> None:
    assert "The pool was <strong>exhausted</strong> by retries." in html
    assert "<li>checkout</li>" in html and "<li>payments</li>" in html
    assert "<em>words</em>" in html
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html  # shown as typed, never run
    assert "javascript:" not in html
    assert '<a href="https://grafana.example/d/1" rel="noopener noreferrer nofollow">the graph</a>' in html
    assert "**exhausted**" not in html


def test_the_review_page_shows_the_sections_as_sanitized_markdown(published):
    review, client = published
    response = client.get(review.get_absolute_url())
    assert response.status_code == 200
    _assert_rendered_and_sanitized(response.content.decode())


def test_the_print_page_shows_the_sections_as_sanitized_markdown(published):
    review, client = published
    response = client.get(reverse("reviews:review_print", kwargs={"number": review.incident.number}))
    assert response.status_code == 200
    _assert_rendered_and_sanitized(response.content.decode())


def test_a_section_is_rendered_once_when_saved(published):
    review, _ = published
    review.refresh_from_db()
    assert "<strong>exhausted</strong>" in review.sections_html["summary"]
    assert set(review.sections_html) == {"summary", "lessons"}


def test_sections_written_before_are_rendered_by_the_migration(published):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("reviews.migrations.0003_review_sections_html")
    review, _ = published
    Review.objects.filter(pk=review.pk).update(summary="Written **before**.", sections_html={})
    migration.render_written_sections(apps, None)
    review.refresh_from_db()
    assert review.sections_html["summary"] == "<p>Written <strong>before</strong>.</p>"

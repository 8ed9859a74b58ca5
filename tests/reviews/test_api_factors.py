"""Contributing factors through the API: added and edited as the review page does, all or nothing."""

import pytest
from django.test import Client

from accounts.services import api_token_issue
from reviews.models import ContributingFactor, Review, ReviewEdit
from reviews.services import factor_add
from tests.factories import UserFactory
from tests.reviews.helpers import worked_sev1

pytestmark = pytest.mark.django_db


@pytest.fixture
def worked():
    worked = worked_sev1()
    _row, raw = api_token_issue(user=worked["ic"], name="test")
    worked["api"] = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    worked["url"] = f"/api/v1/incidents/{worked['incident'].pk}/review/"
    worked["review"] = Review.objects.get(incident=worked["incident"])
    return worked


def _patch(worked, body):
    return worked["api"].patch(worked["url"], body, content_type="application/json")


def _tree(worked) -> list:
    def strip(node):
        return {"text": node["text"], "whys": [strip(w) for w in node["whys"]]}

    return [strip(n) for n in worked["api"].get(worked["url"]).json()["contributing_factors"]]


def test_factors_are_added_with_their_whys_and_edited(worked):
    review = worked["review"]
    first = _patch(worked, {"summary": "Pool ran out.", "contributing_factors": [{"text": "Pool too small"}]})
    assert first.status_code == 200
    pool = first.json()["contributing_factors"][0]
    assert pool["text"] == "Pool too small" and pool["whys"] == []
    second = _patch(
        worked,
        {
            "contributing_factors": [
                {"text": "Retries without backoff"},
                {"text": "Sized for last year's traffic", "parent": pool["id"]},
                {"id": pool["id"], "text": "The connection pool was too small"},
            ]
        },
    )
    assert second.status_code == 200
    assert _tree(worked) == [
        {
            "text": "The connection pool was too small",
            "whys": [{"text": "Sized for last year's traffic", "whys": []}],
        },
        {"text": "Retries without backoff", "whys": []},
    ]
    # The edit kept the previous text, as the page's does.
    edit = ReviewEdit.objects.get(review=review, section=f"factor:{pool['id']}")
    assert edit.previous_text == "Pool too small" and edit.edited_by == worked["ic"]
    assert ContributingFactor.objects.get(text="Retries without backoff").created_by == worked["ic"]


@pytest.mark.parametrize(
    "change",
    [
        {"id": 987654, "text": "Edited"},
        {"parent": 987654, "text": "A why of nothing"},
        {"id": "other-review", "text": "Edited"},
        {"id": "known", "parent": "known", "text": "Moved"},
        {"text": "   "},
        {"id": "known", "text": "Once"},
    ],
    ids=["unknown-id", "unknown-parent", "another-reviews-factor", "id-and-parent", "blank", "twice"],
)
def test_a_bad_factor_is_a_400_and_nothing_is_written(worked, change):
    review = worked["review"]
    known = factor_add(review=review, by=worked["ic"], text="Pool too small")
    other = worked_sev1()
    theirs = Review.objects.get(incident=other["incident"])
    elsewhere = factor_add(review=theirs, by=other["ic"], text="Theirs")
    refs = {"known": known.pk, "other-review": elsewhere.pk}
    change = {k: refs.get(v, v) for k, v in change.items()}
    changes = [{"text": "A new factor"}, change]
    if "Once" in change.values():
        changes.append({"id": known.pk, "text": "Twice"})
    response = _patch(worked, {"summary": "Should not be saved.", "contributing_factors": changes})
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid"
    review.refresh_from_db()
    assert review.summary == ""
    assert list(ContributingFactor.objects.filter(review=review).values_list("text", flat=True)) == [
        "Pool too small"
    ]
    assert not ReviewEdit.objects.filter(review=review).exists()
    assert ContributingFactor.objects.get(pk=elsewhere.pk).text == "Theirs"


def test_a_refusal_by_the_service_writes_nothing_of_the_change(worked):
    review = worked["review"]
    deepest = None
    for depth in range(7):
        deepest = factor_add(review=review, by=worked["ic"], text=f"Why {depth}", parent=deepest)
    response = _patch(
        worked,
        {
            "summary": "Should not be saved.",
            "contributing_factors": [{"text": "Fine"}, {"text": "Too deep", "parent": deepest.pk}],
        },
    )
    assert response.status_code == 409 and "Seven whys" in response.json()["detail"]
    review.refresh_from_db()
    assert review.summary == ""
    assert not ContributingFactor.objects.filter(text__in=["Fine", "Too deep"]).exists()


def test_someone_not_taking_part_cannot_add_factors(worked):
    bystander = UserFactory()  # sees the (ordinary) incident, takes no part in it
    _row, raw = api_token_issue(user=bystander, name="test")
    response = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").patch(
        worked["url"], {"contributing_factors": [{"text": "Sneaked in"}]}, content_type="application/json"
    )
    assert response.status_code == 403
    assert not ContributingFactor.objects.filter(text="Sneaked in").exists()

"""The reviews API: the review (read, write, state, export), follow-ups (list, create, update), insights."""

import pytest
from django.test import Client

from accounts.services import api_token_issue
from reviews.models import FollowUp, Review
from tests.reviews.helpers import worked_sev1

pytestmark = pytest.mark.django_db


def _api(person) -> Client:
    _row, raw = api_token_issue(user=person, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_the_review_through_the_api():
    worked = worked_sev1()
    incident, ic = worked["incident"], worked["ic"]
    api = _api(ic)
    url = f"/api/v1/incidents/{incident.pk}/review/"
    data = api.get(url).json()
    assert data["state"] == "draft" and data["owner"]["id"] == ic.pk
    assert data["record"]["severity"]["final"] == 1 and data["record"]["decisions"][0]["kind"] == "patch"
    response = api.patch(
        url, {"summary": "Pool ran out.", "lessons": "Alert earlier."}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["summary"] == "Pool ran out."
    bad = api.patch(url, {"summary": 5 * "x" * 5000}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"
    assert (
        api.post(url + "state/", {"state": "in_review"}, content_type="application/json").status_code == 200
    )
    published = api.post(url + "state/", {"state": "published"}, content_type="application/json")
    assert published.status_code == 200 and published.json()["state"] == "published"
    again = api.patch(url, {"summary": "Changed"}, content_type="application/json")
    assert again.status_code == 409 and "amendment" in again.json()["detail"]
    export = api.get(url + "export/").json()
    assert export["filename"] == f"{incident.reference}-review.md" and "Pool ran out." in export["markdown"]
    assert Review.objects.get(incident=incident).state == "published"


def test_someone_else_may_not_publish():
    worked = worked_sev1()
    url = f"/api/v1/incidents/{worked['incident'].pk}/review/state/"
    response = _api(worked["sme"]).post(url, {"state": "published"}, content_type="application/json")
    assert response.status_code == 403


def test_follow_ups_through_the_api():
    worked = worked_sev1()
    incident, ic, sme = worked["incident"], worked["ic"], worked["sme"]
    api = _api(ic)
    created = api.post(
        "/api/v1/follow-ups/",
        {"incident": incident.pk, "title": "Alert on saturation", "owner": sme.email, "priority": 2},
        content_type="application/json",
    )
    assert created.status_code == 201
    follow_up = created.json()
    assert follow_up["owner"]["id"] == sme.pk and follow_up["source"] == "api"
    mine = api.get("/api/v1/follow-ups/?view=mine").json()
    assert {r["title"] for r in mine["results"]} >= {
        "Replace the patch with a real fix: Raise the pool until the driver fix ships"
    }
    refused = api.patch(
        f"/api/v1/follow-ups/{follow_up['id']}/", {"state": "wont_do"}, content_type="application/json"
    )
    assert refused.status_code == 409
    done = api.patch(
        f"/api/v1/follow-ups/{follow_up['id']}/", {"state": "done"}, content_type="application/json"
    )
    assert done.json()["state"] == "done" and done.json()["closed_at"]
    assert FollowUp.objects.get(pk=follow_up["id"]).state == "done"
    assert api.get("/api/v1/follow-ups/?state=bogus").status_code == 400
    assert api.get(f"/api/v1/follow-ups/?incident={incident.number}&state=").json()["count"] == 3


def test_insights_through_the_api():
    worked = worked_sev1()
    data = _api(worked["ic"]).get("/api/v1/insights/?days=30").json()
    sev1 = next(r for r in data["by_severity"] if r["severity"] == 1)
    assert sev1["incidents"] == 1 and sev1["clocks"]["to_resolve"]["count"] == 1
    assert _api(worked["ic"]).get("/api/v1/insights/?days=7").status_code == 400

"""The incident list: search, filters, paging, and the htmx partial."""

from datetime import UTC, datetime

import pytest

from incidents import services
from incidents.models import Incident
from tests.factories import IncidentFactory
from tests.incidents.pages import element_ids, text_of

URL = "/incidents/"


@pytest.fixture
def incidents(responder) -> dict[str, Incident]:
    """Four incidents declared on different days, in different states."""
    made = {
        "checkout": IncidentFactory(
            declared_by=responder, title="Checkout fails", summary="Card payments time out", severity=1
        ),
        "search": IncidentFactory(
            declared_by=responder, title="Search is slow", summary="Indexer", severity=3
        ),
        "mail": IncidentFactory(
            declared_by=responder, title="Mail delayed", summary="Queue backlog", severity=4
        ),
        "typo": IncidentFactory(declared_by=responder, title="Typo on home page", summary="", severity=5),
    }
    services.incident_change_status(incident=made["search"], status="investigating", by=responder)
    services.incident_change_status(incident=made["mail"], status="resolved", by=responder)
    services.incident_change_status(
        incident=made["typo"], status="declined", by=responder, note="A bad check"
    )
    for key, day in (("checkout", 5), ("search", 10), ("mail", 15), ("typo", 20)):
        Incident.objects.filter(pk=made[key].pk).update(declared_at=datetime(2026, 11, day, 12, tzinfo=UTC))
    return made


def _titles(response) -> list[str]:
    text = text_of(response)
    order = ["Checkout fails", "Search is slow", "Mail delayed", "Typo on home page"]
    found = [title for title in order if title in text]
    return sorted(found, key=text.index)


def test_it_requires_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.headers["Location"] == "/accounts/login/?next=/incidents/"


def test_it_lists_every_incident_newest_first(rclient, incidents):
    response = rclient.get(URL)
    assert response.status_code == 200
    assert _titles(response) == ["Typo on home page", "Mail delayed", "Search is slow", "Checkout fails"]
    text = text_of(response)
    assert "4 incidents" in text
    assert "INC-1 Checkout fails" in text
    assert "SEV-1" in text and "Declined" in text and "Resolved" in text and "Investigating" in text
    assert "2026-11-05 12:00" in text


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("checkout", ["Checkout fails"]),
        ("CHECKOUT", ["Checkout fails"]),
        ("card payments", ["Checkout fails"]),  # the summary
        ("backlog", ["Mail delayed"]),
        ("INC-2", ["Search is slow"]),
        ("inc-3", ["Mail delayed"]),
        ("4", ["Typo on home page"]),
        ("INC-99", []),
        ("nothing like it", []),
        # Digits that are not decimal digits, and numbers no incident can have, are just text.
        ("²", []),
        ("INC-²", []),
        ("INC-99999999999999999999999", []),
    ],
)
def test_it_searches_by_text_and_number(rclient, incidents, q, expected):
    response = rclient.get(URL, {"q": q})
    assert response.status_code == 200
    assert _titles(response) == expected
    count = len(expected)
    assert f"{count} incident{'' if count == 1 else 's'}" in text_of(response)
    if not expected:
        assert "No incidents match." in text_of(response)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"status": "open"}, ["Search is slow", "Checkout fails"]),
        ({"status": "closed"}, ["Typo on home page", "Mail delayed"]),
        ({"status": "triage"}, ["Checkout fails"]),
        ({"status": "declined"}, ["Typo on home page"]),
        ({"severity": "3"}, ["Search is slow"]),
        ({"severity": "4", "status": "resolved"}, ["Mail delayed"]),
        ({"declared_from": "2026-11-15"}, ["Typo on home page", "Mail delayed"]),
        ({"declared_to": "2026-11-10"}, ["Search is slow", "Checkout fails"]),
        ({"declared_from": "2026-11-10", "declared_to": "2026-11-10"}, ["Search is slow"]),
        ({"q": "s", "status": "open", "severity": "1"}, ["Checkout fails"]),
    ],
)
def test_it_filters(rclient, incidents, filters, expected):
    response = rclient.get(URL, filters)
    assert response.status_code == 200
    assert _titles(response) == expected


@pytest.mark.parametrize(
    "filters",
    [{"severity": "9"}, {"status": "burning"}, {"declared_from": "yesterday"}, {"q": "x" * 201}],
)
def test_it_ignores_filters_it_does_not_understand_and_says_so(rclient, incidents, filters):
    response = rclient.get(URL, filters)
    assert response.status_code == 200
    assert "Some filters were not understood and were ignored" in text_of(response)
    assert len(_titles(response)) == 4


def test_an_htmx_request_gets_only_the_results(rclient, incidents, hx):
    response = rclient.get(URL, {"status": "open"}, headers=hx)
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="results"')
    assert "<html" not in content and "<form" not in content
    assert element_ids(response) == ["results"]
    assert _titles(response) == ["Search is slow", "Checkout fails"]


def test_a_boosted_htmx_request_gets_the_whole_page(rclient, incidents, hx):
    response = rclient.get(URL, headers={**hx, "HX-Boosted": "true"})
    assert "<html" in response.content.decode()


def test_it_pages_long_lists(rclient, responder):
    for i in range(27):
        services.incident_declare(title=f"Blip {i:02}", severity=5, declared_by=responder)
    first = text_of(rclient.get(URL))
    assert "27 incidents" in first
    assert "Page 1 of 2" in first
    assert "Blip 26" in first and "Blip 02" in first and "Blip 01" not in first
    second = text_of(rclient.get(URL, {"page": "2"}))
    assert "Page 2 of 2" in second
    assert "Blip 01" in second and "Blip 00" in second and "Blip 02" not in second
    # A page that does not exist shows the last one rather than failing.
    assert "Page 2 of 2" in text_of(rclient.get(URL, {"page": "99"}))
    assert "Page 1 of 2" in text_of(rclient.get(URL, {"page": "x"}))

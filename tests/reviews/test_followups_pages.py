"""The follow-ups page: my team's, overdue, by service, sorted; and its bulk form, all or nothing.

Everything runs on a clock frozen at NOW, so "overdue" (due before today) is
decided by the same day the follow-ups' due dates were written against.
"""

import re
from datetime import UTC, date, datetime

import pytest
import time_machine

from reviews.models import FollowUp
from roles.models import Service, Team
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)  # Wednesday
YESTERDAY, TOMORROW, LAST_WEEK = date(2026, 3, 10), date(2026, 3, 12), date(2026, 3, 4)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world():
    me = UserFactory(first_name="Mia", last_name="Mine")
    cara = UserFactory(first_name="Cara", last_name="Colleague")
    olga = UserFactory(first_name="Olga", last_name="Other")
    admin = UserFactory(is_staff=True, is_superuser=True)
    Team.objects.create(name="Payments").members.set([me, cara])
    Team.objects.create(name="Search").members.set([olga])
    checkout = Service.objects.create(name="Checkout")
    search = Service.objects.create(name="Search engine")
    shop = IncidentFactory(title="[Outage]: Checkout down", declared_by=admin)
    shop.services.set([checkout])
    finder = IncidentFactory(title="[Degraded]: Search slow", declared_by=admin)
    finder.services.set([search])
    secret = IncidentFactory(title="[Security]: Key leaked", declared_by=admin, is_security=True)

    def follow_up(title, incident, owner, state="open", due_on=None, priority=3):
        return FollowUp.objects.create(
            incident=incident, title=title, owner=owner, state=state, due_on=due_on, priority=priority
        )

    rows = {
        "mine": follow_up("Alert on pool saturation", shop, me, due_on=YESTERDAY, priority=2),
        "cara": follow_up("Load-test checkout", finder, cara, "in_progress", TOMORROW, priority=1),
        "cara_done": follow_up("Raise the pool", shop, cara, "done", LAST_WEEK),
        "olga": follow_up("Reindex nightly", finder, olga, due_on=LAST_WEEK, priority=4),
        "secret": follow_up("Rotate the signing key", secret, admin, due_on=LAST_WEEK),
    }
    return {
        "me": me,
        "olga": olga,
        "admin": admin,
        "checkout": checkout,
        "search": search,
        "rows": rows,
    }


def titles(response) -> list[str]:
    """The follow-ups listed, in the page's order."""
    assert response.status_code == 200
    body = response.content.decode()
    table = body[body.index('<form method="post" class="card bulk-form"') :]
    return re.findall(r'<td><a href="/follow-ups/\d+/">(.*?)</a></td>', table)


def test_my_teams_follow_ups_are_mine_and_my_teammates_open_ones(world, client):
    client.force_login(world["me"])
    # The tab's link carries no state: the open ones (open or in progress).
    assert titles(client.get("/follow-ups/?view=team")) == ["Alert on pool saturation", "Load-test checkout"]
    assert titles(client.get("/follow-ups/?view=team&state=")) == [
        "Raise the pool",
        "Alert on pool saturation",
        "Load-test checkout",
    ]
    assert titles(client.get("/follow-ups/?view=mine")) == ["Alert on pool saturation"]


def test_overdue_is_open_and_due_before_today_whoever_owns_it(world, client):
    client.force_login(world["me"])
    response = client.get("/follow-ups/?view=overdue")
    # Olga's (due last week) first, then mine (due yesterday); Cara's done one and tomorrow's are not.
    assert titles(response) == ["Reindex nightly", "Alert on pool saturation"]
    assert response.content.decode().count('<span class="warning-text">overdue</span>') == 2
    # The restricted incident's overdue follow-up is not mine to see.
    assert "Rotate the signing key" not in response.content.decode()
    client.force_login(world["admin"])
    assert "Rotate the signing key" in titles(client.get("/follow-ups/?view=overdue"))


def test_by_service(world, client):
    client.force_login(world["me"])
    checkout = titles(client.get(f"/follow-ups/?view=all&state=&service={world['checkout'].pk}"))
    assert checkout == ["Raise the pool", "Alert on pool saturation"]
    search = titles(client.get(f"/follow-ups/?view=all&service={world['search'].pk}"))
    assert search == ["Reindex nightly", "Load-test checkout"]


def test_sorted_by_due_date_priority_or_incident(world, client):
    client.force_login(world["me"])
    assert titles(client.get("/follow-ups/?view=all&sort=due")) == [
        "Reindex nightly",
        "Alert on pool saturation",
        "Load-test checkout",
    ]
    assert titles(client.get("/follow-ups/?view=all&sort=priority")) == [
        "Load-test checkout",
        "Alert on pool saturation",
        "Reindex nightly",
    ]
    # Newest incident first: the search incident was declared after the checkout one.
    assert titles(client.get("/follow-ups/?view=all&sort=incident")) == [
        "Reindex nightly",
        "Load-test checkout",
        "Alert on pool saturation",
    ]


def states(world) -> dict[str, str]:
    return {key: FollowUp.objects.get(pk=fu.pk).state for key, fu in world["rows"].items()}


def test_the_bulk_form_moves_every_chosen_one(world, client):
    client.force_login(world["me"])
    rows = world["rows"]
    response = client.post(
        "/follow-ups/?view=all",
        {"ids": [rows["mine"].pk, rows["olga"].pk], "state": "in_progress", "reason": ""},
        follow=True,
    )
    assert response.redirect_chain == [("/follow-ups/?view=all", 302)]
    assert "2 follow-ups now in progress." in response.content.decode()
    assert states(world) == {
        "mine": "in_progress",
        "cara": "in_progress",
        "cara_done": "done",
        "olga": "in_progress",
        "secret": "open",
    }
    mine = FollowUp.objects.get(pk=rows["mine"].pk)
    assert mine.revision == 1  # written through the service, which keys the webhook event by it


def test_wont_do_in_bulk_needs_a_reason_and_then_closes_them(world, client):
    client.force_login(world["me"])
    rows = world["rows"]
    before = states(world)
    chosen = [rows["mine"].pk, rows["cara"].pk]
    refused = client.post("/follow-ups/?view=all", {"ids": chosen, "state": "wont_do", "reason": " "})
    assert refused.status_code == 422
    assert "Say why these follow-ups will not be done." in refused.content.decode()
    assert states(world) == before
    client.post("/follow-ups/?view=all", {"ids": chosen, "state": "wont_do", "reason": "Replaced by OPS-9"})
    closed = FollowUp.objects.get(pk=rows["mine"].pk)
    assert closed.state == "wont_do" and closed.wont_do_reason == "Replaced by OPS-9"
    assert closed.closed_at == NOW


@pytest.mark.parametrize(
    ("ids", "status"),
    [
        (["mine", "secret"], 404),  # an outsider's view of a restricted one: as if it did not exist
        (["mine", "999999"], 404),  # gone
        (["mine", "abc"], 400),  # not an id at all
        ([], 400),  # nothing chosen
    ],
)
def test_a_refused_bulk_change_writes_nothing(world, client, ids, status):
    client.force_login(world["me"])
    before = states(world)
    rows = world["rows"]
    values = [str(rows[i].pk) if i in rows else i for i in ids]
    response = client.post("/follow-ups/?view=all", {"ids": values, "state": "done", "reason": ""})
    assert response.status_code == status
    assert states(world) == before


def test_a_bad_state_in_the_bulk_form_writes_nothing(world, client):
    client.force_login(world["me"])
    before = states(world)
    response = client.post("/follow-ups/", {"ids": [world["rows"]["mine"].pk], "state": "finished"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert states(world) == before


def test_the_admin_may_move_the_restricted_one(world, client):
    client.force_login(world["admin"])
    secret = world["rows"]["secret"]
    client.post("/follow-ups/?view=all", {"ids": [secret.pk], "state": "done"})
    assert FollowUp.objects.get(pk=secret.pk).state == "done"

"""The real migration path: TODO entries written before follow-ups existed become follow-ups on `migrate`.

tests/reviews/test_follow_ups.py calls the migration's function with today's
models; this runs it as `migrate` does, with the historical models, from a
database whose reviews app is at 0001 (every other app as it is today).
"""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from reviews.models import FollowUp

BEFORE_FOLLOW_UPS_FROM_TODOS = ("reviews", "0001_reviews_follow_ups")


def _leaves() -> list[tuple[str, str]]:
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def back_to_the_latest_state():
    yield
    _migrate(_leaves())


@pytest.mark.django_db(transaction=True)
def test_migrate_turns_the_todos_of_an_existing_database_into_follow_ups(back_to_the_latest_state):
    before = [node for node in _leaves() if node[0] != "reviews"] + [BEFORE_FOLLOW_UPS_FROM_TODOS]
    old = _migrate(before)
    User = old.get_model("auth", "User")
    Incident = old.get_model("incidents", "Incident")
    TimelineEntry = old.get_model("incidents", "TimelineEntry")
    author = User.objects.create(username="ann", email="ann@example.com", first_name="Ann")
    gone = User.objects.create(username="left", email="left@example.com", is_active=False)
    incident = Incident.objects.create(number=7, title="[Outage]: checkout", severity=2)
    written = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    kept = TimelineEntry.objects.create(
        incident=incident,
        kind="todo",
        body="Alert on pool saturation\nat 80%, paging checkout's owner",
        author=author,
        occurred_at=written,
    )
    struck = TimelineEntry.objects.create(
        incident=incident,
        kind="todo",
        body="Rewrite everything",
        author=author,
        occurred_at=written,
        struck_at=datetime(2026, 1, 5, 11, 0, tzinfo=UTC),
        strike_reason="Not a real plan",
    )
    orphan = TimelineEntry.objects.create(
        incident=incident, kind="todo", body="Document the runbook", author=gone, occurred_at=written
    )
    TimelineEntry.objects.create(incident=incident, kind="note", body="Just a note", author=author)
    TimelineEntry.objects.create(
        incident=incident, kind="todo", body="Written by the portal", by_portal=True, occurred_at=written
    )

    _migrate(_leaves())

    rows = {f.source_entry_id: f for f in FollowUp.objects.all()}
    assert set(rows) == {kept.pk, struck.pk, orphan.pk}
    first = rows[kept.pk]
    assert first.title == "Alert on pool saturation"
    assert first.description.startswith("Alert on pool saturation\nat 80%")
    assert (first.state, first.owner_id, first.source) == ("open", author.pk, "todo")
    assert first.created_at == written and first.incident_id == incident.pk
    dropped = rows[struck.pk]
    assert dropped.state == "wont_do" and "Not a real plan" in dropped.wont_do_reason
    assert dropped.closed_at == datetime(2026, 1, 5, 11, 0, tzinfo=UTC)
    # Someone who has left owns nothing; the follow-up waits for an owner.
    assert rows[orphan.pk].owner_id is None and rows[orphan.pk].created_by_id == gone.pk

"""Every TODO written in a room before follow-ups existed becomes a follow-up, owned by its author.

A TODO struck through in the room is recorded as "won't do", with the strike's reason.
Idempotent: an entry that has a follow-up already is left alone.
"""

from django.db import migrations


def todo_entries_become_follow_ups(apps, schema_editor):
    TimelineEntry = apps.get_model("incidents", "TimelineEntry")
    FollowUp = apps.get_model("reviews", "FollowUp")
    done = set(FollowUp.objects.filter(source_entry__isnull=False).values_list("source_entry_id", flat=True))
    todos = (
        TimelineEntry.objects.filter(kind="todo", by_portal=False)
        .select_related("author")
        .order_by("pk")
    )
    batch = []
    for entry in todos.iterator(chunk_size=1000):
        if entry.pk in done:
            continue
        body = entry.body.strip()
        first, _, rest = body.partition("\n")
        title = " ".join(first.split()) or "TODO"
        if len(title) > 300:
            title = title[:299] + "…"
        struck = entry.struck_at is not None
        owner = entry.author if entry.author is not None and entry.author.is_active else None
        batch.append(
            FollowUp(
                incident_id=entry.incident_id,
                title=title,
                description=body if rest.strip() or len(" ".join(first.split())) > 300 else "",
                owner=owner,
                state="wont_do" if struck else "open",
                wont_do_reason=(f"Struck through in the room: {entry.strike_reason}"[:1000] if struck else ""),
                source="todo",
                source_entry_id=entry.pk,
                created_by_id=entry.author_id,
                created_at=entry.occurred_at,
                updated_at=entry.occurred_at,
                closed_at=entry.struck_at if struck else None,
            )
        )
        if len(batch) >= 1000:
            FollowUp.objects.bulk_create(batch)
            batch = []
    if batch:
        FollowUp.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0001_reviews_follow_ups"),
        ("incidents", "0006_major_since_proposals_tasks"),
    ]

    operations = [migrations.RunPython(todo_entries_become_follow_ups, migrations.RunPython.noop)]

"""Review sections are Markdown, rendered once when saved (as timeline entries are): the rendering
of the sections written before, so that every review reads the same way."""

from django.db import migrations, models

from core.markdown import render_markdown

SECTIONS = ("summary", "customer_impact", "detection", "went_well", "went_badly", "lucky", "lessons")


def render_written_sections(apps, schema_editor):
    Review = apps.get_model("reviews", "Review")
    for review in Review.objects.only("pk", *SECTIONS).iterator(chunk_size=500):
        rendered = {name: render_markdown(getattr(review, name)) for name in SECTIONS if getattr(review, name)}
        if rendered:
            Review.objects.filter(pk=review.pk).update(sections_html=rendered)


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0002_todo_entries_become_follow_ups"),
    ]

    operations = [
        migrations.AddField(
            model_name="review",
            name="sections_html",
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
        migrations.RunPython(render_written_sections, migrations.RunPython.noop),
    ]

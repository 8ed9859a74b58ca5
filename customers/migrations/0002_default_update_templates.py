from django.db import migrations

# The starting text of a direct update, per incident status; admins edit them afterwards.
# Placeholders: {customer}, {company}, {status}, {affected}, {eta}.
TEMPLATES = {
    "triage": (
        "{company}: we are looking into a problem affecting {affected}",
        "Hello {customer},\n\nWe are investigating a problem with {affected} that affects your service. "
        "We are on it and will keep you posted.",
    ),
    "investigating": (
        "{company}: we are looking into a problem affecting {affected}",
        "Hello {customer},\n\nWe are investigating a problem with {affected} that affects your service. "
        "We are on it and will keep you posted.",
    ),
    "identified": (
        "{company}: we found the cause of the problem with {affected}",
        "Hello {customer},\n\nWe have found the cause of the problem with {affected} and are working "
        "on a fix.",
    ),
    "monitoring": (
        "{company}: a fix for {affected} is in place",
        "Hello {customer},\n\nA fix for the problem with {affected} is in place and we are watching "
        "it closely. Please tell us if you still see a problem.",
    ),
    "resolved": (
        "{company}: the problem with {affected} is resolved",
        "Hello {customer},\n\nThe problem with {affected} is resolved. Please let us know whether "
        "everything is working from your end.",
    ),
}


def create_templates(apps, schema_editor):
    UpdateTemplate = apps.get_model("customers", "UpdateTemplate")
    for status, (subject, body) in TEMPLATES.items():
        UpdateTemplate.objects.get_or_create(status=status, defaults={"subject": subject, "body": body})


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [migrations.RunPython(create_templates, migrations.RunPython.noop)]

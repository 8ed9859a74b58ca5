from django.db import migrations

# The starting text of a public update, one per status; admins edit them afterwards.
TEMPLATES = {
    "investigating": "We are investigating reports of problems with {components}. "
    "We will post an update as soon as we know more.",
    "identified": "We have identified the cause of the problems with {components} "
    "and are working on a fix.",
    "monitoring": "A fix has been put in place and we are monitoring the results.",
    "resolved": "This incident has been resolved. Thank you for your patience.",
}


def create_templates(apps, schema_editor):
    UpdateTemplate = apps.get_model("statuspage", "UpdateTemplate")
    for status, body in TEMPLATES.items():
        UpdateTemplate.objects.get_or_create(status=status, defaults={"body": body})


class Migration(migrations.Migration):
    dependencies = [("statuspage", "0001_initial")]

    operations = [migrations.RunPython(create_templates, migrations.RunPython.noop)]

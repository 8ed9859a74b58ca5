import secrets

from django.db import migrations


def fill_integration_keys(apps, schema_editor):
    Service = apps.get_model("roles", "Service")
    # Rows that existed before 0002 all got the one default computed for the
    # migration: give each its own key before the column becomes unique.
    for service in Service.objects.all():
        service.integration_key = secrets.token_hex(16)
        service.save(update_fields=["integration_key"])


class Migration(migrations.Migration):
    dependencies = [("roles", "0002_people_teams_schedules_pages")]

    operations = [migrations.RunPython(fill_integration_keys, migrations.RunPython.noop)]

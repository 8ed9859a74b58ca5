# The tables that came from incidents take this app's names, and their content
# types (permissions, admin history) follow.

from django.db import migrations

from core.data_migrations import move_content_types

MOVED = ["alertsettings", "outgoingwebhook", "alertgroup", "slackstalk"]


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('incidents', '0004_models_moved_out'),
        ('integrations', '0001_moved_from_incidents'),
    ]

    operations = [
        migrations.RenameIndex(
            model_name='alertgroup',
            new_name='integration_service_aedf56_idx',
            old_name='incidents_a_service_3ba3e5_idx',
        ),
        migrations.AlterModelTable(name='alertgroup', table=None),
        migrations.AlterModelTable(name='alertsettings', table=None),
        migrations.AlterModelTable(name='outgoingwebhook', table=None),
        migrations.AlterModelTable(name='slackstalk', table=None),
        migrations.RunPython(move_content_types("incidents", "integrations", MOVED), migrations.RunPython.noop),
    ]

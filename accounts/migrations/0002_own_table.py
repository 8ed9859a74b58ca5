# The token table that came from incidents takes this app's name, and its
# content type (permissions, admin history) follows.

from django.db import migrations

from core.data_migrations import move_content_types


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('incidents', '0004_models_moved_out'),
        ('accounts', '0001_moved_from_incidents'),
    ]

    operations = [
        migrations.AlterModelTable(name='apitoken', table=None),
        migrations.RunPython(move_content_types("incidents", "accounts", ["apitoken"]), migrations.RunPython.noop),
    ]

# API tokens moved to the accounts app, alert settings, alert groups, outgoing
# webhooks and Slack stalks to the integrations app. Their tables are kept (the
# new apps rename them); here incidents only stops owning them.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0003_api_tokens_alert_groups_webhooks'),
        ('accounts', '0001_moved_from_incidents'),
        ('integrations', '0001_moved_from_incidents'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='ApiToken'),
                migrations.DeleteModel(name='AlertSettings'),
                migrations.DeleteModel(name='OutgoingWebhook'),
                migrations.DeleteModel(name='AlertGroup'),
                migrations.DeleteModel(name='SlackStalk'),
            ],
            database_operations=[],
        ),
    ]

# The integrations models came from the incidents app. Their tables stay as
# they are here (only Django's idea of which app owns them moves, so existing
# rows are kept); 0002 then renames the tables to this app's names.

import django.db.models.deletion
import django.utils.timezone
import integrations.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('comms', '0001_outbox'),
        ('incidents', '0003_api_tokens_alert_groups_webhooks'),
        ('roles', '0004_integration_key_unique'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='AlertSettings',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('severity_label', models.CharField(default='severity', help_text='The Alertmanager label whose value picks the severity.', max_length=100)),
                        ('severity_map', models.JSONField(default=integrations.models.default_alert_severity_map, help_text='Label value (or PagerDuty severity) to SEV number, e.g. {"critical": 1, "warning": 4}.')),
                        ('default_severity', models.PositiveSmallIntegerField(choices=[(1, 'SEV-1'), (2, 'SEV-2'), (3, 'SEV-3'), (4, 'SEV-4'), (5, 'SEV-5')], default=3)),
                        ('auto_resolve', models.BooleanField(default=False, help_text='Resolve the incident when its alerts clear (otherwise a person decides).')),
                        ('page_on_call', models.BooleanField(default=True, help_text="Page the service's on-call for a new incident.")),
                        ('service', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='alert_settings', to='roles.service')),
                    ],
                    options={
                        'db_table': 'incidents_alertsettings',
                        'verbose_name': 'alert settings',
                        'verbose_name_plural': 'alert settings',
                    },
                ),
                migrations.CreateModel(
                    name='OutgoingWebhook',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100)),
                        ('events', models.JSONField(default=integrations.models.all_webhook_events, help_text='Event names this subscriber receives.')),
                        ('include_restricted', models.BooleanField(default=False, help_text='Also send events of restricted (security) incidents.')),
                        ('is_active', models.BooleanField(default=True)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        ('channel', models.ForeignKey(help_text='A signed JSON webhook channel: its URL and secret are used.', limit_choices_to={'kind': 'webhook'}, on_delete=django.db.models.deletion.PROTECT, related_name='incident_subscriptions', to='comms.channel')),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'incidents_outgoingwebhook',
                        'ordering': ['name', 'pk'],
                    },
                ),
                migrations.CreateModel(
                    name='AlertGroup',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('source', models.CharField(choices=[('alertmanager', 'Prometheus Alertmanager'), ('pagerduty', 'PagerDuty Events API v2')], max_length=16)),
                        ('dedup_key', models.CharField(max_length=255)),
                        ('status', models.CharField(choices=[('triggered', 'Triggered'), ('acknowledged', 'Acknowledged'), ('resolved', 'Resolved')], default='triggered', max_length=16)),
                        ('summary', models.CharField(blank=True, max_length=1024)),
                        ('opened_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('last_event_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('acknowledged_at', models.DateTimeField(blank=True, null=True)),
                        ('resolved_at', models.DateTimeField(blank=True, null=True)),
                        ('event_count', models.PositiveIntegerField(default=1)),
                        ('seen_alerts', models.JSONField(blank=True, default=list)),
                        ('incident', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='alert_groups', to='incidents.incident')),
                        ('service', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='alert_groups', to='roles.service')),
                    ],
                    options={
                        'db_table': 'incidents_alertgroup',
                        'ordering': ['-opened_at', '-pk'],
                        'indexes': [models.Index(fields=['service', 'dedup_key', '-opened_at'], name='incidents_a_service_3ba3e5_idx')],
                        'constraints': [models.UniqueConstraint(condition=models.Q(('resolved_at__isnull', True)), fields=('service', 'dedup_key'), name='one_open_alert_group_per_key')],
                    },
                ),
                migrations.CreateModel(
                    name='SlackStalk',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('slack_channel_id', models.CharField(max_length=40)),
                        ('started_by', models.CharField(blank=True, help_text='Slack user name.', max_length=100)),
                        ('started_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('last_posted_at', models.DateTimeField(blank=True, null=True)),
                        ('stopped_at', models.DateTimeField(blank=True, null=True)),
                        ('channel', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='comms.channel')),
                        ('incident', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='slack_stalks', to='incidents.incident')),
                    ],
                    options={
                        'db_table': 'incidents_slackstalk',
                        'constraints': [models.UniqueConstraint(condition=models.Q(('stopped_at__isnull', True)), fields=('incident', 'slack_channel_id'), name='one_running_stalk_per_channel')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]

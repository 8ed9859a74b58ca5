from django.urls import path

from integrations import views

urlpatterns = [
    path("alertmanager/", views.alertmanager_webhook, name="integration_alertmanager"),
    path("pagerduty/v2/enqueue", views.pagerduty_enqueue, name="integration_pagerduty"),
    path("slack/commands/", views.slack_command, name="integration_slack_commands"),
]

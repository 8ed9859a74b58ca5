from django.urls import path

from integrations.api import views

# Mounted under /api/v1/ by config/api.py, in the "api" namespace.
urlpatterns = [
    path(
        "services/<int:service_id>/alert-settings/",
        views.ServiceAlertSettingsView.as_view(),
        name="service_alert_settings",
    ),
    path("webhooks/", views.WebhookListView.as_view(), name="webhook_list"),
    path("webhooks/<int:webhook_id>/", views.WebhookDetailView.as_view(), name="webhook_detail"),
]

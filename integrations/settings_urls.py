"""The signed-in person's Slack page, under /settings/ next to their API tokens."""

from django.urls import path

from integrations import views

urlpatterns = [
    path("", views.slack_settings, name="slack_settings"),
    path("<int:identity_id>/unlink/", views.slack_unlink_view, name="slack_unlink"),
]

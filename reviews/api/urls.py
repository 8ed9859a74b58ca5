from django.urls import path

from reviews.api import views

# Mounted under /api/v1/ by config/api.py, in the "api" namespace.
urlpatterns = [
    path("incidents/<int:pk>/review/", views.ReviewView.as_view(), name="incident_review"),
    path("incidents/<int:pk>/review/state/", views.ReviewStateView.as_view(), name="incident_review_state"),
    path(
        "incidents/<int:pk>/review/export/", views.ReviewExportView.as_view(), name="incident_review_export"
    ),
    path("follow-ups/", views.FollowUpListView.as_view(), name="follow_up_list"),
    path("follow-ups/<int:pk>/", views.FollowUpDetailView.as_view(), name="follow_up_detail"),
    path("insights/", views.InsightsView.as_view(), name="insights"),
]

from django.urls import path

from incidents.api import views

# Mounted under /api/v1/ by config/api.py, in the "api" namespace.
urlpatterns = [
    path("incidents/", views.IncidentListView.as_view(), name="incident_list"),
    path("incidents/<int:pk>/", views.IncidentDetailView.as_view(), name="incident_detail"),
    path("incidents/<int:pk>/status/", views.IncidentStatusView.as_view(), name="incident_status"),
    path("incidents/<int:pk>/severity/", views.IncidentSeverityView.as_view(), name="incident_severity"),
    path("incidents/<int:pk>/reopen/", views.IncidentReopenView.as_view(), name="incident_reopen"),
    path("incidents/<int:pk>/timeline/", views.TimelineView.as_view(), name="incident_timeline"),
]

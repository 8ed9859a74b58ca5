from django.urls import path

from incidents.api import tools, views

# Mounted under /api/v1/ by config/api.py, in the "api" namespace.
urlpatterns = [
    path("incidents/", views.IncidentListView.as_view(), name="incident_list"),
    path("incidents/<int:pk>/", views.IncidentDetailView.as_view(), name="incident_detail"),
    path("incidents/<int:pk>/status/", views.IncidentStatusView.as_view(), name="incident_status"),
    path("incidents/<int:pk>/severity/", views.IncidentSeverityView.as_view(), name="incident_severity"),
    path("incidents/<int:pk>/reopen/", views.IncidentReopenView.as_view(), name="incident_reopen"),
    path("incidents/<int:pk>/timeline/", views.TimelineView.as_view(), name="incident_timeline"),
    path("incidents/<int:pk>/hypotheses/", tools.HypothesesView.as_view(), name="incident_hypotheses"),
    path(
        "incidents/<int:pk>/hypotheses/<int:hypothesis_id>/decide/",
        tools.HypothesisDecideView.as_view(),
        name="incident_hypothesis_decide",
    ),
    path("incidents/<int:pk>/decisions/", tools.DecisionsView.as_view(), name="incident_decisions"),
    path(
        "incidents/<int:pk>/decisions/<int:decision_id>/close/",
        tools.DecisionCloseView.as_view(),
        name="incident_decision_close",
    ),
    path("incidents/<int:pk>/changes/", tools.ChangesView.as_view(), name="incident_changes"),
    path(
        "incidents/<int:pk>/changes/<int:change_id>/restore/",
        tools.ChangeRestoreView.as_view(),
        name="incident_change_restore",
    ),
    path(
        "incidents/<int:pk>/changes/<int:change_id>/keep/",
        tools.ChangeKeepView.as_view(),
        name="incident_change_keep",
    ),
    path(
        "incidents/<int:pk>/verifications/", tools.VerificationsView.as_view(), name="incident_verifications"
    ),
    path(
        "incidents/<int:pk>/rollback-answer/",
        tools.RollbackAnswerView.as_view(),
        name="incident_rollback_answer",
    ),
    path("incidents/<int:pk>/contacts/", tools.ContactsView.as_view(), name="incident_contacts"),
]

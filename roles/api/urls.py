from django.urls import path

from roles.api import views

# Mounted under /api/v1/ by config/api.py, in the "api" namespace.
urlpatterns = [
    path("incidents/<int:pk>/roles/", views.RolesView.as_view(), name="incident_roles"),
    path(
        "incidents/<int:pk>/roles/<int:assignment_id>/release/",
        views.RoleReleaseView.as_view(),
        name="incident_role_release",
    ),
    path("incidents/<int:pk>/pages/", views.PagesView.as_view(), name="incident_pages"),
    path("pages/<int:page_id>/acknowledge/", views.PageAcknowledgeView.as_view(), name="page_acknowledge"),
    path("services/", views.ServiceListView.as_view(), name="service_list"),
    path("oncall/", views.OnCallView.as_view(), name="oncall"),
    path("incidents/<int:pk>/proposals/", views.ProposalsView.as_view(), name="incident_proposals"),
    path(
        "incidents/<int:pk>/proposals/<int:proposal_id>/approve/",
        views.ProposalAnswerView.as_view(verdict="approve"),
        name="incident_proposal_approve",
    ),
    path(
        "incidents/<int:pk>/proposals/<int:proposal_id>/reject/",
        views.ProposalAnswerView.as_view(verdict="reject"),
        name="incident_proposal_reject",
    ),
    path("incidents/<int:pk>/tasks/", views.TasksView.as_view(), name="incident_tasks"),
    path(
        "incidents/<int:pk>/tasks/<int:task_id>/move/",
        views.TaskMoveView.as_view(),
        name="incident_task_move",
    ),
]

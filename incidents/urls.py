from django.urls import path

from incidents import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("incidents/", views.incident_list, name="incident_list"),
    path("incidents/declare/", views.incident_declare, name="incident_declare"),
    path("incidents/<int:number>/", views.incident_room, name="incident_room"),
    path("incidents/<int:number>/poll/", views.incident_poll, name="incident_poll"),
    path("incidents/<int:number>/status/", views.incident_change_status, name="incident_status"),
    path("incidents/<int:number>/severity/", views.incident_change_severity, name="incident_severity"),
    path("incidents/<int:number>/reopen/", views.incident_reopen, name="incident_reopen"),
    path("incidents/<int:number>/freeze/", views.incident_deploy_freeze, name="incident_freeze"),
    path("incidents/<int:number>/timeline/", views.entry_add, name="entry_add"),
    path("incidents/<int:number>/timeline/<int:entry_id>/edit/", views.entry_edit, name="entry_edit"),
    path(
        "incidents/<int:number>/timeline/<int:entry_id>/strike/",
        views.entry_strike,
        name="entry_strike",
    ),
]

from django.urls import path

from incidents import live_views, tool_views, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("incidents/", views.incident_list, name="incident_list"),
    path("incidents/declare/", views.incident_declare, name="incident_declare"),
    path("incidents/<int:number>/", views.incident_room, name="incident_room"),
    path("incidents/<int:number>/poll/", views.incident_poll, name="incident_poll"),
    # Server-sent events (incidents/live_views.py): the room's changes, and "an incident changed".
    path("incidents/<int:number>/events/", live_views.room_stream, name="incident_events"),
    path("incidents/events/", live_views.incidents_stream, name="incidents_events"),
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
    # The response tools and the header's forms (incidents/tool_views.py).
    path("incidents/<int:number>/hypotheses/", tool_views.hypothesis_raise, name="hypothesis_raise"),
    path(
        "incidents/<int:number>/hypotheses/<int:hypothesis_id>/decide/",
        tool_views.hypothesis_decide,
        name="hypothesis_decide",
    ),
    path("incidents/<int:number>/decisions/", tool_views.decision_record, name="decision_record"),
    path(
        "incidents/<int:number>/decisions/<int:decision_id>/close/",
        tool_views.decision_close,
        name="decision_close",
    ),
    path("incidents/<int:number>/changes/", tool_views.change_record, name="change_record"),
    path(
        "incidents/<int:number>/changes/<int:change_id>/restore/",
        tool_views.change_restore,
        name="change_restore",
    ),
    path("incidents/<int:number>/changes/<int:change_id>/keep/", tool_views.change_keep, name="change_keep"),
    path("incidents/<int:number>/verifications/", tool_views.verification_record, name="verification_record"),
    path("incidents/<int:number>/rollback/", tool_views.rollback_answer, name="rollback_answer"),
    path("incidents/<int:number>/contacts/", tool_views.contacts_edit, name="contacts_edit"),
    path("incidents/<int:number>/details/", tool_views.details_edit, name="details_edit"),
]

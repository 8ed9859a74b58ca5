from django.urls import path, re_path

from roles import calendar_views, command_views, views

app_name = "roles"

urlpatterns = [
    path("oncall/", calendar_views.oncall, name="oncall"),
    path("oncall/schedules/<int:schedule_id>/", calendar_views.schedule_week, name="schedule_week"),
    path("oncall/schedules/<int:schedule_id>/swap/", calendar_views.swap_new, name="swap_new"),
    path("oncall/swaps/<int:swap_id>/", calendar_views.swap_detail, name="swap"),
    path("oncall/swaps/<int:swap_id>/accept/", calendar_views.swap_accept, name="swap_accept"),
    path("oncall/swaps/<int:swap_id>/decline/", calendar_views.swap_decline, name="swap_decline"),
    path("oncall/swaps/<int:swap_id>/cancel/", calendar_views.swap_cancel, name="swap_cancel"),
    path("oncall/feeds/issue/", calendar_views.calendar_feed_issue, name="calendar_feed_issue"),
    # The address is the secret (config/secret_logs.py masks it in every log line).
    path("oncall/feeds/<str:token>.ics", calendar_views.calendar_feed, name="calendar_feed"),
    path("pages/ack/<str:token>/", views.page_ack, name="page_ack"),
    path("incidents/<int:number>/roles/assign/", views.role_assign, name="assign"),
    path("incidents/<int:number>/roles/<int:assignment_id>/release/", views.role_release, name="release"),
    path(
        "incidents/<int:number>/roles/<int:assignment_id>/checklist/", views.checklist_tick, name="checklist"
    ),
    path("incidents/<int:number>/roles/<int:assignment_id>/handover/", views.handover, name="handover"),
    path("incidents/<int:number>/pages/", views.page_send, name="page"),
    path("incidents/<int:number>/pages/ic/", views.page_ic, name="page_ic"),
    path("incidents/<int:number>/executive-summary/", views.executive_summary, name="executive_summary"),
    # Command and control (roles/command_views.py).
    path("incidents/<int:number>/proposals/", command_views.proposal_make, name="propose"),
    re_path(
        r"^incidents/(?P<number>[0-9]+)/proposals/(?P<proposal_id>[0-9]+)/(?P<verdict>approve|reject|withdraw)/$",
        command_views.proposal_answer,
        name="proposal_answer",
    ),
    path("incidents/<int:number>/tasks/", command_views.task_assign, name="task_assign"),
    path("incidents/<int:number>/tasks/<int:task_id>/move/", command_views.task_move, name="task_move"),
    path("incidents/<int:number>/workstreams/", command_views.workstream_start, name="workstream_start"),
    path(
        "incidents/<int:number>/workstreams/<int:workstream_id>/close/",
        command_views.workstream_close,
        name="workstream_close",
    ),
    re_path(
        r"^incidents/(?P<number>[0-9]+)/participants/(?P<change>add|remove)/$",
        command_views.participant,
        name="participant",
    ),
]

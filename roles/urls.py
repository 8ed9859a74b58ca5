from django.urls import path

from roles import views

app_name = "roles"

urlpatterns = [
    path("oncall/", views.oncall, name="oncall"),
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
]

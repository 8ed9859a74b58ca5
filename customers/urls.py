from django.urls import path

from customers import views

app_name = "customers"

urlpatterns = [
    path("incidents/<int:number>/customers/", views.room_panel, name="room_panel"),
    path("incidents/<int:number>/customers/compose/", views.room_compose, name="room_compose"),
    path("incidents/<int:number>/customers/update/", views.update_send, name="update_send"),
    path("incidents/<int:number>/customers/eta/", views.eta_set, name="eta_set"),
    path("incidents/<int:number>/customers/calls/", views.call_record, name="call_record"),
    path("incidents/<int:number>/customers/add/", views.affected_add, name="affected_add"),
    path("incidents/<int:number>/customers/remove/", views.affected_remove, name="affected_remove"),
    path("incidents/<int:number>/customers/follow-ups/", views.follow_up_settle, name="follow_up_settle"),
]

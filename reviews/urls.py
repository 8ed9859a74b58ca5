from django.urls import path

from reviews import views

app_name = "reviews"

urlpatterns = [
    path("incidents/<int:number>/review/", views.review_page, name="review"),
    path("incidents/<int:number>/review/start/", views.review_start, name="review_start"),
    path("incidents/<int:number>/review/write/", views.review_write, name="review_write"),
    path("incidents/<int:number>/review/steer/", views.review_steer, name="review_steer"),
    path("incidents/<int:number>/review/factors/", views.factor_add, name="factor_add"),
    path("incidents/<int:number>/review/factors/<int:factor_id>/", views.factor_edit, name="factor_edit"),
    path("incidents/<int:number>/review/pins/", views.review_pin, name="review_pin"),
    path("incidents/<int:number>/review/meeting/", views.review_meeting, name="review_meeting"),
    path("incidents/<int:number>/review/state/", views.review_state, name="review_state"),
    path("incidents/<int:number>/review/publish/", views.review_publish, name="review_publish"),
    path("incidents/<int:number>/review/amend/", views.review_amend, name="review_amend"),
    path("incidents/<int:number>/review/export.md", views.review_export, name="review_export"),
    path("incidents/<int:number>/review/print/", views.review_print, name="review_print"),
    path("incidents/<int:number>/follow-ups/", views.follow_up_add, name="follow_up_add"),
    path("incidents/<int:number>/review/card/", views.room_card, name="room_card"),
    path("reviews/", views.review_list, name="review_list"),
    path("follow-ups/", views.follow_up_list, name="follow_ups"),
    path("follow-ups/<int:pk>/", views.follow_up_detail, name="follow_up"),
    path("insights/", views.insights_page, name="insights"),
    path("insights/<str:kind>.csv", views.insights_csv, name="insights_csv"),
]

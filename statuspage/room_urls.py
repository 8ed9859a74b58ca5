"""The publish page, reached from the incident room: /incidents/<number>/public-update/."""

from django.urls import path

from statuspage import views

urlpatterns = [
    path("<int:number>/public-update/", views.public_update, name="statuspage_public_update"),
]

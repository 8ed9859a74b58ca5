from django.urls import path

from statuspage.api import views

# Mounted under /api/v1/ by config/api.py, in the "api" namespace.
urlpatterns = [
    path("incidents/<int:pk>/public-updates/", views.PublicUpdateView.as_view(), name="public_updates"),
    path("components/", views.ComponentListView.as_view(), name="component_list"),
    path(
        "components/<str:component_id>/status/",
        views.ComponentStatusView.as_view(),
        name="component_status",
    ),
]

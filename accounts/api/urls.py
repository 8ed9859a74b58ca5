from django.urls import path

from accounts.api import views

# Mounted under /api/v1/ by config/api.py, in the "api" namespace.
urlpatterns = [
    path("tokens/", views.TokenListView.as_view(), name="token_list"),
    path("tokens/<int:token_id>/revoke/", views.TokenRevokeView.as_view(), name="token_revoke"),
]

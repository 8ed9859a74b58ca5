"""The public status page: /status/... (no sign-in, no cookies on the documents)."""

from django.urls import path, register_converter

from statuspage import views

app_name = "statuspage"


class PublicIdConverter:
    """Statuspage-style ids: 12 lowercase letters and digits."""

    regex = "[a-z0-9]{12}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class ApiEndpointConverter:
    regex = (
        "summary|status|components|incidents/unresolved|incidents|scheduled-maintenances/upcoming"
        "|scheduled-maintenances/active|scheduled-maintenances"
    )

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(PublicIdConverter, "publicid")
register_converter(ApiEndpointConverter, "spapi")

urlpatterns = [
    path("", views.page, name="page"),
    path("history/", views.history, name="history"),
    path("history.atom", views.feed_atom, name="atom"),
    path("history.rss", views.feed_rss, name="rss"),
    path("incidents/<publicid:public_id>/", views.incident, name="incident"),
    path("incidents/<publicid:public_id>", views.incident),  # Statuspage's shortlinks have no slash
    path("maintenances/<publicid:public_id>.ics", views.maintenance_ics, name="ics"),
    path("api/v2/<spapi:endpoint>.json", views.api, name="api"),
    path("subscribe/", views.subscribe, name="subscribe"),
    path("subscribe/confirm/<str:token>/", views.confirm, name="confirm"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]

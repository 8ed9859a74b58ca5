from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The project itself as an app: its management commands (runportal, load_demo) and health checks."""

    name = "config"
    label = "portal"
    verbose_name = "Portal"

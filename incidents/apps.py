from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self) -> None:
        # Imported here, not at the top: apps.py is read before the models are ready.
        from comms import permissions as comms_permissions
        from incidents.selectors import incidents_visible_to

        # comms knows nothing of incidents: it is told here which of them (the
        # subjects of its messages) a person may see, for the bell and the outbox.
        comms_permissions.register_subject_rules(visible=incidents_visible_to)

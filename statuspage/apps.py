from django.apps import AppConfig


class StatuspageConfig(AppConfig):
    name = "statuspage"

    def ready(self) -> None:
        # Imported here, not at the top: apps.py is read before the models are ready.
        from incidents import hooks
        from statuspage.selectors import incident_status_page_link

        # incidents sits below statuspage: where to join links to the public page through this.
        hooks.provide_status_page_link(incident_status_page_link)

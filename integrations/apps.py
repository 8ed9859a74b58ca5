from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        # Imported here, not at the top: apps.py is read before the models are ready.
        from incidents import hooks
        from integrations.webhooks import webhooks_for_entry

        # Every timeline entry the incidents services write may be an event for
        # outgoing webhooks (incidents sits below and cannot import this app).
        hooks.listen_to_entries(lambda entry: webhooks_for_entry(entry=entry))

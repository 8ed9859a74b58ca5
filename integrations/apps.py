from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        # Imported here, not at the top: apps.py is read before the models are ready.
        from incidents import hooks
        from integrations.webhooks import webhooks_for_entry, webhooks_for_review_event
        from reviews import hooks as review_hooks

        # Every timeline entry the incidents services write may be an event for
        # outgoing webhooks (incidents sits below and cannot import this app).
        hooks.listen_to_entries(lambda entry: webhooks_for_entry(entry=entry))
        # Reviews and follow-ups are events of their own (review.published,
        # follow_up.created, follow_up.updated): reviews tells us through its registry.
        review_hooks.listen(webhooks_for_review_event)

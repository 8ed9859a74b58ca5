from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "Customers"

    def ready(self) -> None:
        # Imported here, not at the top: apps.py is read before the models are ready.
        from customers.services import entry_follows
        from incidents import hooks

        # incidents sits below customers and cannot import it. Every timeline entry it
        # writes comes here, in the same transaction: a resolve opens the follow-ups with
        # the affected customers, a public update with "notify" is posted to the social
        # accounts (customers/services/social.py).
        hooks.listen_to_entries(entry_follows)

from django.apps import AppConfig


def person_name(user) -> str:
    return user.get_full_name() or user.get_username()


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and API tokens"

    def ready(self) -> None:
        # Imported here, not at the top: apps.py is read before the models are ready.
        from django.contrib.auth import get_user_model

        # Names, not usernames, wherever a person is shown or chosen: choice lists
        # (the handover's new holder), the admin's lists and links, messages. The
        # username stays what people sign in with and what the API accepts.
        get_user_model().__str__ = person_name

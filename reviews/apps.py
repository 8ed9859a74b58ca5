from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Reviews and follow-ups"

    def ready(self) -> None:
        # Imported here, not at the top: apps.py is read before the models are ready.
        from incidents import hooks
        from reviews.services import entry_follows

        # incidents sits below reviews and cannot import it. Every timeline entry it
        # writes comes here, in the same transaction (reviews/services/record.py says
        # which ones matter): resolving a SEV-1/2 drafts its review, a TODO becomes a
        # follow-up, a patch or workaround decision asks for one.
        hooks.listen_to_entries(entry_follows)

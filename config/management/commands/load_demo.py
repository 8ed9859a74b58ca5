from django.core.management.base import BaseCommand

from config.demo import DEMO_PASSWORD, DEMO_PEOPLE, demo_loaded, load_demo


class Command(BaseCommand):
    help = "Load demo people, services and incidents once (does nothing when they are there)."

    def handle(self, *args, **options) -> None:
        if demo_loaded():
            self.stdout.write("Demo data is loaded already.")
        else:
            load_demo()
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for email, first, last, role in DEMO_PEOPLE:
            what = role.label if role else "administrator"
            self.stdout.write(f"  {email:<24} {first} {last}, {what}")

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.services import AccountError, api_token_issue


class Command(BaseCommand):
    help = "Issue a personal API token for a user and print it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="issued with manage.py", help="What the token is for.")
        parser.add_argument("--expires-in-days", type=int, default=None, help="Expire after this many days.")

    def handle(self, *args, username: str, name: str, expires_in_days: int | None, **options):
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist:
            raise CommandError(f"There is no user {username!r}.") from None
        expires_at = None
        if expires_in_days is not None:
            if expires_in_days < 1:
                raise CommandError("--expires-in-days must be at least 1.")
            expires_at = timezone.now() + timedelta(days=expires_in_days)
        try:
            row, token = api_token_issue(user=user, name=name, expires_at=expires_at)
        except AccountError as error:
            raise CommandError(str(error)) from None
        self.stderr.write(f"Token “{row.name}” for {username} (shown once; store it now):")
        self.stdout.write(token)

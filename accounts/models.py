"""Accounts: personal API tokens (the sign-in itself is django-allauth's)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

API_TOKEN_PREFIX = "chk_"


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is kept: the token itself is shown once.

    Tokens are 256 random bits, so a fast hash is enough (nothing to brute-force),
    and a lookup by hash costs one indexed query per request.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for (a script, a bot...).")
    # The first characters of the token, so that a person recognises it in a list.
    prefix = models.CharField(max_length=16, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)



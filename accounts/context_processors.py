from django.conf import settings
from django.http import HttpRequest


def sign_in(request: HttpRequest) -> dict:
    """The sign-in page hides the password form behind "break-glass" when SSO is the only way in."""
    return {"sso_only": settings.OIDC_SSO_ONLY}

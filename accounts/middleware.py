"""Two-factor authentication, mandatory for administrators when ACCOUNTS_MFA_REQUIRED_FOR_ADMINS is on.

An administrator (staff or superuser) signed in without a second factor (a TOTP
app or a security key) reaches only the pages that set one up, and signing out:
every other page sends them there. Once they have one, allauth asks for it at
every sign-in, whether by password or single sign-on.
"""

from collections.abc import Callable

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

# allauth's own pages (second factor set-up, reauthentication, sign-out), static files, health checks.
OPEN_PREFIXES = ("/accounts/", "/static/", "/healthz", "/readyz")
SECOND_FACTORS = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)
MESSAGE = "Administrators need two-factor authentication here: set up an authenticator app or a security key."


def needs_second_factor(user) -> bool:
    if not (user.is_authenticated and (user.is_staff or user.is_superuser)):
        return False
    return not Authenticator.objects.filter(user=user, type__in=SECOND_FACTORS).exists()


def admin_mfa_middleware(get_response: Callable[[HttpRequest], HttpResponse]):
    def middleware(request: HttpRequest) -> HttpResponse:
        if (
            settings.ACCOUNTS_MFA_REQUIRED_FOR_ADMINS
            and not request.path.startswith(OPEN_PREFIXES)
            and needs_second_factor(request.user)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": MESSAGE, "code": "mfa_required", "errors": {}}, status=403)
            messages.warning(request, MESSAGE)
            return redirect("mfa_index")
        return get_response(request)

    return middleware

"""The signed-in person's API tokens page (HTML): create, see last use, revoke; the admin's sign-in."""

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.models import ApiToken
from accounts.services import AccountError, api_token_issue, api_token_revoke


@login_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    new_token = None
    error = ""
    if request.method == "POST":
        try:
            row, new_token = api_token_issue(user=request.user, name=request.POST.get("name", ""))
        except AccountError as exc:
            error = str(exc)
    tokens = ApiToken.objects.filter(user=request.user)
    return render(
        request,
        "accounts/api_tokens.html",
        {"tokens": tokens, "new_token": new_token, "error": error},
        status=400 if error else 200,
    )


@login_required
@require_POST
def api_token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    try:
        api_token_revoke(token=token, by=request.user)
        messages.success(request, f"The token “{token.name}” is revoked.")
    except AccountError as exc:
        messages.error(request, str(exc))
    return redirect("api_tokens")


def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin signs in through the portal's own sign-in (allauth), not a second password form.

    One form, one throttle (accounts/throttle.py): the admin's own login view had none.
    """
    if request.user.is_authenticated:
        if admin.site.has_permission(request):
            return redirect("admin:index")
        # Sending them to the sign-in would bounce straight back here (it redirects
        # signed-in people to `next`): say why instead.
        raise PermissionDenied("You are signed in, but not as an administrator.")
    target = request.GET.get("next") or reverse("admin:index")
    return redirect(f"{reverse('account_login')}?{urlencode({'next': target})}")

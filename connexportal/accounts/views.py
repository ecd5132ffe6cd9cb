"""Partner branding assets (served from the database so no media storage is needed), and the login pages
Django's auth views do not cover as the portal needs: the lockout page and password reset."""

from __future__ import annotations

import math

from axes.helpers import get_cool_off
from axes.utils import reset as reset_login_failures
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from connexportal.accounts.backends import login_username
from connexportal.accounts.forms import PortalPasswordResetForm, may_reset_password
from connexportal.accounts.models import Partner

# Long-lived: the URLs carry the partner's change time, so a new logo or colour gets a new URL.
ASSET_CACHE = "public, max-age=31536000, immutable"


@require_GET
def partner_logo(request: HttpRequest, partner_id: int) -> HttpResponse:
    partner = get_object_or_404(Partner, pk=partner_id, is_active=True)
    if not partner.logo_content_type:
        raise Http404("no logo")
    response = HttpResponse(bytes(partner.logo), content_type=partner.logo_content_type)
    response["Cache-Control"] = ASSET_CACHE
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


@require_GET
def partner_theme(request: HttpRequest, partner_id: int) -> HttpResponse:
    """The partner's colours as CSS custom properties; values were validated as #rrggbb on save."""
    partner = get_object_or_404(Partner, pk=partner_id, is_active=True)
    css = (
        f":root {{\n  --cx-color-primary: {partner.primary_color};\n  --cx-color-accent: {partner.accent_color};\n}}\n"
    )
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    response["Cache-Control"] = ASSET_CACHE
    return response


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """What a login locked out by axes gets (AXES_LOCKOUT_CALLABLE), on the portal's and the admin's login.

    Every attempt while locked out is counted and restarts the cool-off, so the wait is the
    whole cool-off from now.
    """
    wait_seconds = int(get_cool_off(request).total_seconds())
    context = {
        "email": login_username(request, credentials) or "",
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": math.ceil(wait_seconds / 60),
        "login_url": request.path,
    }
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(wait_seconds)
    return response


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PortalPasswordResetForm
    email_template_name = "registration/password_reset_email.txt"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and may_reset_password(user) else None

    def form_valid(self, form):
        # Whoever can read the mailbox could reset anyway: a new password also lifts lockouts.
        reset_login_failures(username=form.user.email)
        return super().form_valid(form)

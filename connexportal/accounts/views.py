"""Partner branding assets: served from the database so no media storage is needed."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

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

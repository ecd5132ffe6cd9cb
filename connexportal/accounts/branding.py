"""Partner branding: the logo a partner may upload, and what pages need to show its brand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

MAX_LOGO_BYTES = 256 * 1024
# Raster formats only, recognised by their magic bytes: SVG can carry script, so it is refused.
LOGO_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def sniff_logo(content: bytes) -> str:
    """The logo's content type, or ValidationError saying exactly what is wrong with it."""
    if not content:
        raise ValidationError(_("The logo file is empty."))
    if len(content) > MAX_LOGO_BYTES:
        raise ValidationError(
            _("The logo is %(size)d KB; the limit is %(limit)d KB."),
            params={"size": len(content) // 1024, "limit": MAX_LOGO_BYTES // 1024},
        )
    for signature, content_type in LOGO_SIGNATURES:
        if content.startswith(signature):
            return content_type
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    raise ValidationError(_("The logo must be a PNG, JPEG, GIF or WebP image (SVG is not accepted)."))


DEFAULT_SERVICE_NAME = "Connex"


@dataclass(frozen=True)
class Brand:
    name: str
    logo_url: str | None
    theme_url: str | None
    theme: str
    hide_products: bool = False
    hide_orders: bool = False
    allow_run_now: bool = True
    # What merchant-facing text calls the sync service, and the header an embedded page shows.
    service_name: str = DEFAULT_SERVICE_NAME
    embed_chrome: str = "none"


DEFAULT_BRAND = Brand(name="Connex Portal", logo_url=None, theme_url=None, theme="light")

# The service name of the merchant a request acts for: set for the whole request by
# MerchantMiddleware, like the language, so that messages built far from the request (the
# services' errors) name the partner's service too.
_service_name: ContextVar[str] = ContextVar("service_name", default=DEFAULT_SERVICE_NAME)


def service_name() -> str:
    """What merchant-facing text calls Connex for the merchant being served ("Connex" by default)."""
    return _service_name.get()


@contextmanager
def service_name_override(name: str | None) -> Iterator[None]:
    token = _service_name.set(name or DEFAULT_SERVICE_NAME)
    try:
        yield
    finally:
        _service_name.reset(token)


def brand_for(partner) -> Brand:
    if partner is None:
        return DEFAULT_BRAND
    version = int(partner.updated_at.timestamp())
    return Brand(
        name=partner.name,
        logo_url=f"{reverse('partner-logo', args=[partner.pk])}?v={version}" if partner.logo_content_type else None,
        theme_url=f"{reverse('partner-theme', args=[partner.pk])}?v={version}",
        theme=partner.theme,
        hide_products=partner.hide_products,
        hide_orders=partner.hide_orders,
        allow_run_now=partner.allow_run_now,
        service_name=partner.service_name or DEFAULT_SERVICE_NAME,
        embed_chrome=partner.embed_chrome,
    )

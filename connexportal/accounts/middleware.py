"""Who the request acts for, and in which language, decided once per request.

``request.merchant`` is the merchant whose data the request may touch: the embed
session's merchant when the request comes from an embedded portal (set earlier
as ``request.embed_merchant``), else the logged-in user's. Views and services take
it from there and nowhere else.
"""

from __future__ import annotations

from django.utils import translation

from connexportal.accounts.branding import brand_for
from connexportal.accounts.models import Merchant


class MerchantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        merchant = getattr(request, "embed_merchant", None)
        if merchant is None and request.user.is_authenticated and request.user.merchant_id:
            merchant = (
                Merchant.objects.select_related("partner", "connex_account")
                .filter(pk=request.user.merchant_id, is_active=True)
                .first()
            )
        request.merchant = merchant
        partner = merchant.partner if merchant is not None else None
        request.brand = brand_for(partner)
        language = getattr(request, "embed_language", None) or (partner.default_language if partner else None)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)

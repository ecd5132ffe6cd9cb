"""Who the request acts for, and in which language, decided once per request.

``request.merchant`` is the merchant whose data the request may touch: the embed
session's merchant when the request comes from an embedded portal (set earlier
as ``request.embed_merchant``), else the logged-in user's. Views and services take
it from there and nowhere else.

Idle logged-in sessions end here too (IdleSessionMiddleware).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils import translation
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from connexportal.accounts.branding import brand_for, service_name_override
from connexportal.accounts.languages import page_language

LAST_SEEN_KEY = "_last_seen"
# Activity is written to the session at most this often, so that a page view rarely writes.
LAST_SEEN_RESOLUTION = 60


class MerchantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        merchant = getattr(request, "embed_merchant", None)
        if merchant is None and request.user.is_authenticated:
            # Loaded with the user (PortalBackend.get_user), which refuses inactive merchants.
            merchant = request.user.merchant
        request.merchant = merchant
        partner = merchant.partner if merchant is not None else None
        request.brand = brand_for(partner)
        language = page_language(request, partner)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        with service_name_override(request.brand.service_name):
            return self.get_response(request)


class IdleSessionMiddleware:
    """Ends a logged-in session after SESSION_IDLE_TIMEOUT seconds without a request.

    The time of the last request is kept in the session, updated at most every
    LAST_SEEN_RESOLUTION seconds: while in use the session (and with it its expiry,
    SESSION_COOKIE_AGE) is saved about once a minute rather than on every request.
    Place after MessageMiddleware (the login page says why) and HtmxMiddleware (an htmx
    request is sent to the login page as a whole-page navigation).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = request.session
        if SESSION_KEY in session and getattr(request, "embed_session", None) is None:
            now = int(time.time())
            last_seen = session.get(LAST_SEEN_KEY)
            if last_seen is not None and now - last_seen > settings.SESSION_IDLE_TIMEOUT:
                return self._expired(request)
            if last_seen is None or now - last_seen >= LAST_SEEN_RESOLUTION:
                session[LAST_SEEN_KEY] = now
        response = self.get_response(request)
        if SESSION_KEY in session and LAST_SEEN_KEY not in session:
            # Just logged in: the login already saves the session, so this costs no extra write.
            session[LAST_SEEN_KEY] = int(time.time())
        return response

    @staticmethod
    def _expired(request):
        logout(request)
        messages.info(request, _("You were logged out after a period of inactivity. Please log in again."))
        # Back to this page after logging in, unless it was a form post, which would not be repeated.
        if request.method == "GET":
            login_url = redirect_to_login(request.get_full_path()).url
        else:
            login_url = resolve_url(settings.LOGIN_URL)
        if request.htmx:
            return HttpResponseClientRedirect(login_url)
        return HttpResponseRedirect(login_url)

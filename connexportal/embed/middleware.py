"""Embed sessions on requests, and the headers that let exactly the partner frame the portal.

The embedded portal runs in a cross-site iframe where browsers refuse (Chromium) or drop
(Safari) third-party cookies, so an embed session never rides in a cookie:

* htmx requests carry the session token in the ``X-Connex-Embed`` header (``hx-headers`` on
  ``<body>``; every in-frame navigation is boosted, so it is an htmx request too);
* plain navigations (the first page after launch, a reload, back and forward) carry it in the
  ``?embed=`` query parameter.

Only a header can authorize a change. A browser sends a custom header cross-origin only after a
CORS preflight the portal never grants, and the token is in no cookie a browser would attach on
its own, so a header-authenticated request cannot be forged by another site: CSRF checks are
waived for it alone. A token in the URL opens pages for reading only.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils.cache import patch_cache_control

from connexportal.accounts.models import Partner
from connexportal.embed import services, views

logger = logging.getLogger(__name__)

EMBED_HEADER = "X-Connex-Embed"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# URL namespaces an embed session may open; anything else (login, admin, home) stays unframable.
EMBEDDABLE_NAMESPACES = frozenset({"portal"})


class Refused(NamedTuple):
    """Why the request will get a refusal page instead of its view (see views.refusal_response)."""

    page: views.RefusalPage
    partner: Partner | None
    language: str
    reason: str


class EmbedSessionMiddleware:
    """Sets ``request.embed_session`` and what it grants; place after authentication, before MerchantMiddleware.

    Also sets ``embed_merchant``, ``embed_partner``, ``embed_language`` and ``embed_token`` (the
    plaintext, for the page to send back), all None when the request is not embedded.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.embed_session = request.embed_merchant = request.embed_partner = None
        request.embed_language = request.embed_token = request.embed_frame_ancestors = None
        request.embed_refusal = None
        token, from_header = self._token(request)
        if token:
            self._authenticate(request, token, from_header=from_header)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # Refused here rather than in __call__ so that the answer passes through every middleware
        # (CSP nonce, headers) like any page.
        refused = request.embed_refusal
        if refused is not None:
            return views.refusal_response(
                request, refused.page, partner=refused.partner, language=refused.language, reason=refused.reason
            )
        if request.embed_session is not None and request.resolver_match.namespace not in EMBEDDABLE_NAMESPACES:
            logger.info("embed session %s: %s is not part of the portal", request.embed_session.pk, request.path)
            return views.refusal_response(request, views.NOT_EMBEDDABLE, partner=request.embed_partner)
        return None

    @staticmethod
    def _token(request) -> tuple[str, bool]:
        header = request.headers.get(EMBED_HEADER, "")
        if views.EMBED_PARAM in request.GET:
            # Consumed here, so that no page copies it into the links it builds from the query string.
            request.GET = request.GET.copy()
            param = request.GET.pop(views.EMBED_PARAM)[-1]
        else:
            param = ""
        return (header, True) if header else (param, False)

    @staticmethod
    def _authenticate(request, token: str, *, from_header: bool) -> None:
        # An embedded request acts for its embed session alone, never for a login cookie the
        # browser may also hold (a partner on the portal's own site, a staff member testing).
        request.user = AnonymousUser()
        request.auser = _anonymous
        try:
            session = services.session_authenticate(token=token)
        except services.SessionRefused as exc:
            partner_id = exc.partner.pk if exc.partner else "-"
            logger.info("embed session refused (%s) for partner %s on %s", exc.reason, partner_id, request.path)
            request.embed_refusal = Refused(views.SESSION_ENDED, exc.partner, exc.language, exc.reason.value)
            return
        if not from_header and request.method not in SAFE_METHODS:
            logger.warning(
                "embed session %s: %s %s with the token in the URL refused", session.pk, request.method, request.path
            )
            request.embed_refusal = Refused(views.WRITE_WITHOUT_HEADER, session.partner, session.language, "")
            return
        request.embed_session = session
        request.embed_merchant = session.merchant
        request.embed_partner = session.partner
        request.embed_language = session.language or None
        request.embed_token = token
        request.embed_frame_ancestors = views.frame_ancestors(session.partner)
        if from_header:
            request._dont_enforce_csrf_checks = True


async def _anonymous():
    return AnonymousUser()


class EmbedFramingMiddleware:
    """Lets the partner, and only the partner, frame an embedded response; place last.

    Last, so that its response runs before the clickjacking and CSP middleware read the
    response's opt-outs. Every other response keeps the site's ``frame-ancestors 'none'`` and
    ``X-Frame-Options: DENY``.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        ancestors = getattr(request, "embed_frame_ancestors", None)
        if ancestors is None:
            return response
        # What the csp_override decorator sets, per response: the site policy with the partner's origins.
        base = getattr(response, "_csp_config", None) or settings.SECURE_CSP
        response._csp_config = {**base, "frame-ancestors": ancestors}
        response.xframe_options_exempt = True
        # Embedded URLs may hold the session token: send them nowhere, keep them in no cache.
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        patch_cache_control(response, private=True, no_store=True)
        return response

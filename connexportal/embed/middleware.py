"""Embed sessions on requests, and the headers that let exactly the partner frame the portal.

The embedded portal runs in a cross-site iframe where browsers refuse (Chromium) or drop
(Safari) third-party cookies, so an embed session never rides in a cookie. Nor does its token
ever ride in a URL, where access logs, history entries, ``Referer`` headers and copied links
would keep it:

* htmx requests carry the session token in the ``X-Connex-Embed`` header (``hx-headers`` on
  ``<body>``; every in-frame navigation is boosted, back and forward restore pages with htmx,
  so nearly every request is one);
* a full-page load, which cannot send a header (the first page after launch, a link or GET form
  htmx does not take), carries a navigation ticket in ``?ticket=`` instead: single use, valid
  for a minute, bound to the session and minted just before (by the launch, or by the frame
  script's header-authorised ``POST /embed/navigation-tickets``). The page it opens holds the
  session token in its memory, and the frame script takes the spent ticket out of the address;
* a portal page loaded into a frame with neither (a reload, a reopened address) gets a refusal
  that tells the host page to open the portal again.

Only a header can authorize a change. A browser sends a custom header cross-origin only after a
CORS preflight the portal never grants, and the token is in no cookie a browser would attach on
its own, so a header-authenticated request cannot be forged by another site: CSRF checks are
waived for it alone. A ticket opens one page, for reading.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.urls import Resolver404, resolve
from django.utils.cache import patch_cache_control

from connexportal.accounts.models import Partner
from connexportal.embed import services, views

logger = logging.getLogger(__name__)

EMBED_HEADER = "X-Connex-Embed"
# URL namespaces an embed session may open (the merchant pages, and the embed app's own
# navigation tickets); anything else (login, admin, home) stays unframable.
PORTAL_NAMESPACE = "portal"
EMBEDDABLE_NAMESPACES = frozenset({PORTAL_NAMESPACE, "embed"})


class Refused(NamedTuple):
    """Why the request will get a refusal page instead of its view (see views.refusal_response)."""

    page: views.RefusalPage
    partner: Partner | None
    language: str
    reason: str


class EmbedSessionMiddleware:
    """Sets ``request.embed_session`` and what it grants; place after authentication, before MerchantMiddleware.

    Also sets ``embed_merchant``, ``embed_partner``, ``embed_language`` and ``embed_token`` (the
    plaintext, for the page to send back in its header), all None when the request is not
    embedded. A navigation ticket is taken out of the request (``GET`` and the query string)
    before any view sees it, so that no page copies it into a link.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.embed_session = request.embed_merchant = request.embed_partner = None
        request.embed_language = request.embed_token = request.embed_frame_ancestors = None
        request.embed_refusal = None
        token = request.headers.get(EMBED_HEADER, "")
        ticket = self._take_ticket(request)
        if token:
            self._authenticate(request, token)
        elif ticket:
            self._redeem(request, ticket)
        elif self._framed_portal_page(request):
            # Nothing left to open it with: the host page must open the portal again. Never the
            # login cookie either: the direct portal is unframable, and this refusal, framable by
            # any page, must show no one's name.
            _act_anonymously(request)
            logger.info("portal page %s loaded in a frame without an embed session", request.path)
            request.embed_refusal = Refused(views.PAGE_NEEDS_SESSION, None, "", "missing")
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
    def _take_ticket(request) -> str:
        if views.TICKET_PARAM not in request.GET:
            return ""
        query = request.GET.copy()
        ticket = query.pop(views.TICKET_PARAM)[-1]
        request.GET = query
        # get_full_path() reads META: a "Try again" link or a login redirect's ?next= must not
        # carry the ticket on. A copy, so the server's own environ (its access log) is untouched.
        request.META = {**request.META, "QUERY_STRING": query.urlencode()}
        return ticket

    @staticmethod
    def _framed_portal_page(request) -> bool:
        if request.method != "GET" or request.headers.get("Sec-Fetch-Dest") != "iframe":
            return False
        try:
            return resolve(request.path_info).namespace == PORTAL_NAMESPACE
        except Resolver404:
            return False

    @staticmethod
    def _authenticate(request, token: str) -> None:
        _act_anonymously(request)
        try:
            session = services.session_authenticate(token=token)
        except services.SessionRefused as exc:
            partner_id = exc.partner.pk if exc.partner else "-"
            logger.info("embed session refused (%s) for partner %s on %s", exc.reason, partner_id, request.path)
            request.embed_refusal = Refused(views.SESSION_ENDED, exc.partner, exc.language, exc.reason.value)
            return
        _open(request, session, token)
        request._dont_enforce_csrf_checks = True

    @staticmethod
    def _redeem(request, ticket: str) -> None:
        _act_anonymously(request)
        if request.method != "GET":
            # Writes are header-only; the ticket stays unspent for the page it was minted for.
            logger.warning("%s %s with a navigation ticket refused", request.method, request.path)
            request.embed_refusal = Refused(views.WRITE_WITHOUT_HEADER, None, "", "")
            return
        try:
            session, token = services.navigation_ticket_redeem(ticket=ticket)
        except services.TokenRefused as exc:
            # A second use of a ticket may be a replay from a log or history: worth a warning.
            level = logging.WARNING if exc.reason is services.Refusal.USED else logging.INFO
            partner_id = exc.partner.pk if exc.partner else "-"
            ended = isinstance(exc, services.SessionRefused)
            what = "embed session" if ended else "navigation ticket"
            logger.log(level, "%s refused (%s) for partner %s on %s", what, exc.reason, partner_id, request.path)
            page = views.SESSION_ENDED if ended else views.PAGE_NEEDS_SESSION
            request.embed_refusal = Refused(page, exc.partner, exc.language, exc.reason.value)
            return
        _open(request, session, token)


def _act_anonymously(request) -> None:
    # An embedded request acts for its embed session alone, never for a login cookie the
    # browser may also hold (a partner on the portal's own site, a staff member testing).
    request.user = AnonymousUser()
    request.auser = _anonymous


def _open(request, session, token: str) -> None:
    request.embed_session = session
    request.embed_merchant = session.merchant
    request.embed_partner = session.partner
    request.embed_language = session.language or None
    request.embed_token = token
    request.embed_frame_ancestors = views.frame_ancestors(session.partner)


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
        # Embedded pages are the merchant's data and their addresses may hold a (spent) ticket:
        # send them nowhere, keep them in no cache.
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        patch_cache_control(response, private=True, no_store=True)
        return response

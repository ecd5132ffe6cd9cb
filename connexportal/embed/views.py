"""The embedded portal's entry (the launch URL), its navigation tickets, and the pages that say
why it would not open."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve, reverse
from django.utils import translation
from django.utils.csp import CSP
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import push_url, reswap, retarget, trigger_client_event

from connexportal.accounts.branding import brand_for
from connexportal.accounts.models import Partner, validate_origin
from connexportal.embed import services
from connexportal.embed.services import Refusal

logger = logging.getLogger(__name__)

# The query parameter that carries a navigation ticket on a full-page load inside the frame.
# The session token itself is never put in a URL.
TICKET_PARAM = "ticket"


@dataclass(frozen=True)
class RefusalPage:
    status: int
    title: Promise
    message: Promise
    # What the host page is told (see static/connex-embed.js); None: nothing it could act on.
    host_event: str | None
    offer_connections: bool = False


LAUNCH_REFUSALS = {
    Refusal.UNKNOWN: RefusalPage(
        404,
        _("This link to the portal is not valid"),
        _("It may have been cut short when it was copied."),
        "launch_failed",
    ),
    Refusal.USED: RefusalPage(
        410,
        _("This link has already been used"),
        _("Each link opens the portal once, to keep your account safe."),
        "launch_failed",
    ),
    Refusal.EXPIRED: RefusalPage(
        410,
        _("This link has expired"),
        _("Links to the portal work for a few minutes only, to keep your account safe."),
        "launch_failed",
    ),
    Refusal.INACTIVE: RefusalPage(
        403,
        _("The portal is not available for this account"),
        _("The account is switched off. Its support team can switch it back on."),
        "launch_failed",
    ),
}
SESSION_ENDED = RefusalPage(
    401,
    _("Your session has ended"),
    _("To keep your account safe, the portal closes a session after a while."),
    "session_expired",
)
# A page address opened without the session: a spent or expired ticket (a reload, a copied link,
# a line of an access log) or none at all (a reload once the ticket is gone from the address).
PAGE_NEEDS_SESSION = RefusalPage(
    401,
    _("This page cannot be opened from its address"),
    _("To keep your account safe, pages of the portal open only from within the portal, and only once."),
    "session_expired",
)
WRITE_WITHOUT_HEADER = RefusalPage(
    403,
    _("This change was not made"),
    _("The portal could not confirm that the change came from you."),
    None,
)
NOT_EMBEDDABLE = RefusalPage(
    404,
    _("This page is not part of the portal"),
    _("Only the connections, products and orders pages open here."),
    None,
    offer_connections=True,
)


def frame_ancestors(partner: Partner | None) -> list[str]:
    """Who may frame an embedded response: exactly the partner's origins.

    Without a partner (an unknown token) only a refusal is ever shown, which holds no data and
    no controls: any page may frame it, so that the person sees why instead of a blank frame.
    """
    if partner is None:
        return ["*"]
    # Validated again on every use: an origin stored before validation was tightened (one
    # holding a ';' or a quote, say) would otherwise be written into the CSP header as is.
    safe = []
    for origin in partner.origins:
        try:
            validate_origin(origin)
        except ValidationError:
            logger.warning("embed origin %r of partner %s dropped from frame-ancestors: not valid", origin, partner.pk)
            continue
        safe.append(origin)
    return safe or [CSP.NONE]


def refusal_response(
    request: HttpRequest, page: RefusalPage, *, partner: Partner | None, language: str = "", reason: str = ""
) -> HttpResponse:
    """The page saying why the portal did not open, in the partner's brand and language.

    An htmx request gets the message in place of the page's main content (a 401 the page's
    htmx-config swaps) and a `connex:session_expired` event for the host page.
    """
    request.embed_partner = partner
    request.embed_frame_ancestors = frame_ancestors(partner)
    if partner is not None:
        request.brand = brand_for(partner)
        translation.activate(language or partner.default_language)
        request.LANGUAGE_CODE = translation.get_language()
    context = {
        "page": page,
        "partner": partner,
        "embed_event": {"type": page.host_event, "reason": reason} if page.host_event else None,
    }
    if request.htmx and page.host_event == "session_expired":
        response = render(request, "embed/refused.html#notice", context, status=page.status)
        retarget(response, "#main")
        reswap(response, "innerHTML")
        # A boosted link would otherwise record the refused page in the frame's history.
        push_url(response, False)
        trigger_client_event(response, "connex:session_expired", {"reason": reason})
    else:
        response = render(request, "embed/refused.html", context, status=page.status)
    if page.status == 401:
        response["WWW-Authenticate"] = 'ConnexEmbed realm="Connex Portal"'
    # django.request would log the path, which holds a launch token; the caller logged it without.
    response._has_been_logged = True
    return response


@require_GET
def launch(request: HttpRequest, token: str) -> HttpResponse:
    """Exchange the single-use launch token for an embed session and open the portal with it."""
    try:
        session, session_token = services.launch_exchange(token=token)
    except services.LaunchRefused as exc:
        # A second use of a launch URL may be a replay: worth a warning. Never log the token.
        level = logging.WARNING if exc.reason is Refusal.USED else logging.INFO
        partner_id = exc.partner.pk if exc.partner else "-"
        logger.log(level, "embed launch refused (%s) for partner %s", exc.reason, partner_id)
        return refusal_response(
            request, LAUNCH_REFUSALS[exc.reason], partner=exc.partner, language=exc.language, reason=exc.reason
        )
    logger.info(
        "embed session %s opened for merchant %s of partner %s", session.pk, session.merchant_id, session.partner_id
    )
    request.embed_partner = session.partner
    request.embed_frame_ancestors = frame_ancestors(session.partner)
    ticket = services.navigation_ticket_create(session=session, session_token=session_token)
    response = HttpResponseRedirect(url_with_ticket(reverse("portal:connections"), ticket))
    # Applies to the redirected request: it keeps the host page's origin as the referrer, which
    # the embedded page checks against the partner's origins to address its messages (Firefox
    # has no location.ancestorOrigins). The pages themselves send no referrer at all.
    response["Referrer-Policy"] = "origin"
    return response


def url_with_ticket(path: str, ticket: str) -> str:
    separator = "&" if "?" in path else "?"
    return f"{path}{separator}{urlencode({TICKET_PARAM: ticket})}"


def portal_page(path: str) -> str | None:
    """``path`` (path and query) when it names a page of the merchant portal on this site, else None.

    Any ticket in it is dropped: the caller adds a fresh one.
    """
    # "//host" and "/\host" are other sites to a browser; a scheme or host is never a portal page.
    if not path.startswith("/") or path.startswith(("//", "/\\")):
        return None
    parts = urlsplit(path)
    if parts.scheme or parts.netloc:
        return None
    try:
        match = resolve(parts.path)
    except Resolver404:
        return None
    if match.namespace != "portal":
        return None
    query = [(name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True) if name != TICKET_PARAM]
    return f"{parts.path}?{urlencode(query)}" if query else parts.path


@require_POST
def navigation_ticket(request: HttpRequest) -> JsonResponse:
    """A ticket for one full-page load of a portal page inside the frame: ``{"url": ...}``.

    For the frame script, before a navigation that cannot carry the session header (a link htmx
    does not take, a plain GET form). Only a request authorised by the header reaches here: the
    middleware refuses a session from anywhere else on a POST.
    """
    if request.embed_session is None:
        return JsonResponse({"error": "An embed session is required."}, status=401)
    target = portal_page(request.POST.get("path", ""))
    if target is None:
        return JsonResponse({"error": "path must be a page of the portal."}, status=400)
    ticket = services.navigation_ticket_create(session=request.embed_session, session_token=request.embed_token)
    return JsonResponse({"url": url_with_ticket(target, ticket)}, status=201)

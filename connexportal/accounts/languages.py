"""Which language a page speaks, and the switcher that changes it.

In order: the reader's explicit choice, the user's saved language, the embed session's or the
partner's default, the browser's ``Accept-Language``. An explicit choice is kept where the next
request will find it:

* logged in: on the user (``User.language``) and in the language cookie;
* on the login page: in the language cookie; logging in then saves it on the user, so the
  language picked before logging in is the one the portal opens in;
* embedded: on the embed session (no cookie reaches a cross-site frame), which every request
  of the frame carries.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

LANGUAGE_CODES = frozenset(code for code, _name in settings.LANGUAGES)


def chosen_language(request: HttpRequest) -> str:
    """The language the reader picked with the switcher (the cookie), or ""."""
    code = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    return code if code in LANGUAGE_CODES else ""


def page_language(request: HttpRequest, partner) -> str | None:
    """The language for a request that acts for a merchant of ``partner`` (None: the browser's).

    LocaleMiddleware has already chosen from the cookie and the browser; this decides whether
    the user's, the embed session's or the partner's language comes first.
    """
    partner_default = partner.default_language if partner is not None else None
    if getattr(request, "embed_merchant", None) is not None:
        return request.embed_language or partner_default
    user = request.user
    saved = user.language if user.is_authenticated else ""
    return saved or chosen_language(request) or partner_default


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the portal's language and go back to ``next`` (a page of this site)."""
    code = request.POST.get("language", "")
    if code not in LANGUAGE_CODES:
        return HttpResponseBadRequest("Unknown language.")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=False):
        next_url = reverse("portal:connections") if request.embed_session is not None else "/"
    response = HttpResponseRedirect(next_url)
    session = request.embed_session
    if session is not None:
        session.language = code
        session.save(update_fields=["language"])
        return response
    if request.user.is_authenticated and request.user.language != code:
        request.user.language = code
        request.user.save(update_fields=["language"])
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


def save_login_language(sender, request, user, **kwargs) -> None:
    """On login, a language picked on the login page becomes the user's (user_logged_in receiver)."""
    code = chosen_language(request) if request is not None else ""
    if code and user.language != code:
        user.language = code
        user.save(update_fields=["language"])

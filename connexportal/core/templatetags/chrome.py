"""The layout every page shares (base.html): the site header, the language form, asset URLs.

Built in Python rather than template nodes, like the list rows (portal/templatetags/portal.py):
every page renders them, and as about 40 template nodes they cost the portal ~0.6 ms per page,
more than all the rest of a page's layout. What never changes within a process (a URL of
the URLconf, an asset's hashed URL) is computed once.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.templatetags.static import static
from django.urls import get_script_prefix, reverse
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django_htmx.jinja import django_htmx_script

register = template.Library()


@lru_cache(maxsize=1024)
def _url(name: str, args: tuple, prefix: str) -> str:
    return escape(reverse(name, args=args))


def url(name: str, *args: int | str) -> str:
    """``reverse(name, args=args)``, HTML-escaped; once per URL and script prefix."""
    return _url(name, args, get_script_prefix())


@register.simple_tag(name="url_for")
def url_for(name: str, *args: int | str) -> SafeString:
    """``{% url name arg %}`` for the pages every merchant loads, reversed once per URL: a
    reversal costs about 30 µs, and the settings page has nine of them."""
    return mark_safe(url(name, *args))  # noqa: S308 - escaped in _url


@register.simple_tag
@lru_cache(maxsize=64)
def asset(path: str) -> str:
    """``{% static path %}``, looked up once: a collected file's hashed name never changes while
    the process runs (collectstatic happens before it starts)."""
    return static(path)


@register.simple_tag(takes_context=True)
def page_scripts(context) -> SafeString:
    """htmx and the portal's script, with the page's CSP nonce: what ``{% htmx_script %}`` and a
    ``<script>`` tag would write, without looking up htmx's static URL on every page. With DEBUG
    on, django-htmx's debug script too, as ``{% htmx_script %}`` adds it."""
    nonce = context.get("csp_nonce")
    nonce_attr = f' nonce="{escape(str(nonce))}"' if nonce is not None else ""
    scripts = (
        f'<script src="{escape(asset("django_htmx/htmx-2.min.js"))}" defer{nonce_attr}></script>'
        + (django_htmx_script(nonce=nonce) if settings.DEBUG else "")
        + f'\n  <script src="{escape(asset("js/portal.js"))}" defer{nonce_attr}></script>'
    )
    return mark_safe(scripts)  # noqa: S308 - the URLs and the nonce are escaped


@receiver(setting_changed)
def _forget(*, setting: str, **kwargs) -> None:
    """Tests that change the URLconf or the static files' storage get fresh URLs."""
    if setting in ("ROOT_URLCONF", "STATIC_URL", "STORAGES", "FORCE_SCRIPT_NAME"):
        _url.cache_clear()
        asset.cache_clear()


def _current(nav: str | None, item: str) -> str:
    return ' aria-current="page"' if nav == item else ""


def csrf_input(context) -> str:
    """What ``{% csrf_token %}`` writes, with the page's one token (masked once per page)."""
    token = context.get("csrf_token")
    if not token:
        return ""
    return f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(str(token))}">'


@register.simple_tag(takes_context=True)
def site_header(context) -> SafeString:
    """The header's brand, the merchant's navigation and the logged-in user's log-out form.

    Embedded, the partner chooses the portal's own brand header: full, compact or none (then
    the partner's page is the brand).
    """
    request = context["request"]
    brand = context["brand"]
    nav = context.get("nav")
    embedded = bool(getattr(request, "embed_session", None))
    parts = []
    if not embedded or brand.embed_chrome != "none":
        logo = f'<img src="{escape(brand.logo_url)}" alt="" class="brand-logo">' if brand.logo_url else ""
        home = url("portal:connections" if embedded else "home")
        parts.append(f'<a class="brand" href="{home}">{logo}{escape(brand.name)}</a>')
    if getattr(request, "merchant", None):
        links = [f'<a href="{url("portal:connections")}"{_current(nav, "connections")}>{escape(_("Connections"))}</a>']
        if not brand.hide_products:
            links.append(f'<a href="{url("portal:products")}"{_current(nav, "products")}>{escape(_("Products"))}</a>')
        if not brand.hide_orders:
            links.append(f'<a href="{url("portal:orders")}"{_current(nav, "orders")}>{escape(_("Orders"))}</a>')
        links.append(f'<a href="{url("portal:activity")}"{_current(nav, "activity")}>{escape(_("Activity"))}</a>')
        parts.append(
            f'<nav class="site-nav" aria-label="{escape(_("Main"))}" hx-boost="true">\n      '
            + "\n      ".join(links)
            + "\n    </nav>"
        )
    user = request.user
    if user.is_authenticated:
        parts.append(logout_form(context, user))
    return mark_safe("\n    ".join(parts))  # noqa: S308 - every value in the markup is escaped above


def logout_form(context, user) -> str:
    return (
        f'<form class="site-user" method="post" action="{url("logout")}">{csrf_input(context)}'
        f'<span class="muted">{escape(user.email)}</span> '
        f'<button type="submit" class="button-link">{escape(_("Log out"))}</button></form>'
    )


@register.simple_tag(takes_context=True)
def user_form(context) -> SafeString:
    """The logged-in user's address and log-out button (the partner console's header)."""
    return mark_safe(logout_form(context, context["request"].user))  # noqa: S308 - escaped in logout_form


@register.simple_tag(takes_context=True)
def language_form(context) -> SafeString:
    """The language switcher: posts the chosen language and comes back to this page."""
    request = context["request"]
    current = translation.get_language()
    options = "".join(
        f'<option value="{code}" lang="{code}"{" selected" if code == current else ""}>{escape(_(name))}</option>'
        for code, name in settings.LANGUAGES
    )
    return mark_safe(  # noqa: S308 - every value in the markup is escaped
        f'<form class="language-form" method="post" action="{url("portal:set-language")}">{csrf_input(context)}'
        f'<input type="hidden" name="next" value="{escape(request.get_full_path())}">'
        f'<label for="language-select">{escape(_("Language"))}</label> '
        f'<select name="language" id="language-select">{options}</select> '
        f'<button type="submit" class="button-secondary">{escape(_("Change"))}</button></form>'
    )

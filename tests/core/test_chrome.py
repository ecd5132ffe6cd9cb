"""The shared layout's tags (connexportal/core/templatetags/chrome.py): what they show, escaped."""

from __future__ import annotations

import re
from dataclasses import replace
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, RequestContext, Template
from django.templatetags.static import static
from django.test import RequestFactory
from django.utils import translation

from connexportal.accounts.branding import DEFAULT_BRAND
from connexportal.core.templatetags.chrome import asset

HOSTILE = "<b>\"Acme\" & 'Co'</b>"
LAYOUT = Template("{% load chrome %}{{ csrf_token }}|{% site_header %}|{% language_form %}")


def render(
    path="/products/",
    *,
    merchant=True,
    embedded=False,
    brand=DEFAULT_BRAND,
    nav="products",
    email="m@x.test",
    language="en",
):
    request = RequestFactory().get(path)
    request.user = SimpleNamespace(is_authenticated=True, email=email) if email else AnonymousUser()
    request.merchant = object() if merchant else None
    request.embed_session = object() if embedded else None
    request.brand = brand
    with translation.override(language):
        return LAYOUT.render(RequestContext(request, {"nav": nav}))


def test_the_merchant_sees_the_brand_the_navigation_and_the_log_out_form():
    html = render()
    assert '<a class="brand" href="/">Connex Portal</a>' in html
    assert '<a href="/products/" aria-current="page">Products</a>' in html
    assert '<a href="/connections/">Connections</a>' in html
    assert '<a href="/orders/">Orders</a>' in html and '<a href="/activity/">Activity</a>' in html
    assert 'action="/logout/"' in html and '<span class="muted">m@x.test</span>' in html


def test_brand_and_user_values_are_escaped():
    brand = replace(DEFAULT_BRAND, name=HOSTILE, logo_url='/logo.png" onerror="alert(1)')
    html = render(brand=brand, email="<i>@x.test")
    assert "<b>" not in html and "<i>" not in html
    assert "&lt;b&gt;&quot;Acme&quot; &amp; &#x27;Co&#x27;&lt;/b&gt;" in html
    assert 'src="/logo.png&quot; onerror=&quot;alert(1)"' in html


def test_hidden_pages_leave_the_navigation_and_no_merchant_means_no_navigation():
    html = render(brand=replace(DEFAULT_BRAND, hide_products=True, hide_orders=True))
    assert "/products/" not in html.split("|")[1] and "/orders/" not in html
    assert "site-nav" not in render(merchant=False)
    assert "site-user" not in render(email=None)


@pytest.mark.parametrize(("chrome", "brand_shown"), [("none", False), ("compact", True), ("full", True)])
def test_embedded_the_brand_follows_the_partners_choice_and_leads_to_the_connections(chrome, brand_shown):
    html = render(embedded=True, brand=replace(DEFAULT_BRAND, embed_chrome=chrome))
    assert ('<a class="brand" href="/connections/">' in html) is brand_shown
    assert "site-nav" in html


def test_every_form_of_the_page_carries_the_pages_one_csrf_token():
    html = render()
    token = html.split("|")[0]
    assert token and re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html) == [token, token]


def test_the_language_form_selects_the_current_language_and_comes_back_here_escaped():
    html = render(path='/products/?q="><script>', language="fr")
    assert '<option value="fr" lang="fr" selected>Français</option>' in html
    assert '<option value="en" lang="en">' in html
    assert "<script>" not in html
    assert 'name="next" value="/products/?q=%22%3E%3Cscript%3E"' in html


def test_asset_urls_follow_a_change_of_the_static_settings(settings):
    assert asset("css/portal.css") == static("css/portal.css")
    settings.STATIC_URL = "/assets-elsewhere/"
    assert asset("css/portal.css") == "/assets-elsewhere/css/portal.css"


def test_url_for_gives_what_reverse_gives_and_follows_the_script_prefix():
    from django.urls import reverse, set_script_prefix

    from connexportal.core.templatetags.chrome import url

    template = Template("{% load chrome %}{% url_for 'portal:connection-settings' 7 %}|{% url_for 'portal:orders' %}")
    assert template.render(RequestContext(RequestFactory().get("/"))) == (
        f"{reverse('portal:connection-settings', args=[7])}|{reverse('portal:orders')}"
    )
    assert url("portal:connection-settings", 8) == "/connections/8/settings/"
    try:
        set_script_prefix("/portal/")
        assert url("portal:connection-settings", 8) == "/portal/connections/8/settings/"
    finally:
        set_script_prefix("/")
    assert url("portal:connection-settings", 8) == "/connections/8/settings/"


@pytest.mark.parametrize("debug", [False, True])
def test_page_scripts_load_htmx_and_the_portals_script_with_the_pages_nonce(settings, debug):
    settings.DEBUG = debug
    html = Template("{% load chrome %}{% page_scripts %}").render(Context({"csp_nonce": 'n0"nce'}))
    assert f'<script src="{static("django_htmx/htmx-2.min.js")}" defer nonce="n0&quot;nce"></script>' in html
    assert f'<script src="{static("js/portal.js")}" defer nonce="n0&quot;nce"></script>' in html
    assert html.count("<script") == (3 if debug else 2)
    assert ("django-htmx.js" in html) is debug

"""White label, languages and phones in Chromium: the partner's service name, the embedded header,
the language switcher (also across a direct login), locale formats, and the pages at 360 px."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import NARROW_WIDTH, axe_scan, describe_violations
from tests.e2e.conftest import _new_context
from tests.e2e.portal import MERCHANT, Demo, session_cookie

PHONE = {"width": NARROW_WIDTH, "height": 740}
MIN_TAP = 44


def demo_partner():
    from connexportal.accounts.models import User

    return User.objects.get(email=MERCHANT.email).merchant.partner


@pytest.fixture
def partner_settings(portal_demo: Demo) -> Iterator[Callable[..., None]]:
    """Change the demo partner for one test; everything is put back afterwards (the data is module-wide)."""
    partner = demo_partner()
    saved = {name: getattr(partner, name) for name in ("service_name", "embed_chrome", "embed_origins")}

    def change(**values) -> None:
        for name, value in values.items():
            setattr(partner, name, value)
        partner.save()

    yield change
    change(**saved)


@pytest.fixture
def forget_language(portal_demo: Demo) -> Iterator[None]:
    from connexportal.accounts.models import User

    yield
    User.objects.filter(email=MERCHANT.email).update(language="")


@pytest.fixture
def open_phone(browser: Browser, portal_demo: Demo) -> Iterator[Callable[..., Page]]:
    """Pages at 360 x 740, logged in as the first demo merchant."""
    contexts = []

    def open_page() -> Page:
        context = _new_context(browser, portal_demo.url, **PHONE)
        contexts.append(context)
        context.add_cookies([session_cookie(MERCHANT, portal_demo.url)])
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def assert_no_sideways_scrolling(page: Page) -> None:
    width, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"{page.url} scrolls sideways at {inner} px ({width} px wide)"


def assert_tap_targets(page: Page, selector: str) -> None:
    small = page.evaluate(
        """([selector, min]) => [...document.querySelectorAll(selector)]
            .filter((element) => element.offsetParent !== null)
            .map((element) => [element.outerHTML.slice(0, 80), element.getBoundingClientRect()])
            .filter(([, box]) => Math.round(box.width) < min || Math.round(box.height) < min)
            .map(([html, box]) => `${html} is ${Math.round(box.width)}x${Math.round(box.height)}`)""",
        [selector, MIN_TAP],
    )
    assert small == [], "tap targets under 44 px:\n" + "\n".join(small)


def assert_axe_clean(page: Page) -> None:
    violations = axe_scan(page)
    assert violations == [], describe_violations(violations)


# --- Service name and the embedded header --------------------------------------------------


def test_the_partners_service_name_replaces_connex(merchant_page: Page, partner_settings, portal_demo: Demo):
    partner_settings(service_name="Acme Sync")
    page = merchant_page
    page.goto(portal_demo.settings_path("Amazon US"))
    expect(page.locator("#settings-form")).to_contain_text("Times are in UTC, as Acme Sync keeps them.")
    assert "Connex" not in page.locator("#settings-form").inner_text()
    assert_axe_clean(page)


@contextmanager
def partner_page(html: str) -> Iterator[str]:
    """The partner's page, served on another site than the portal (127.0.0.1 against localhost); yields its URL."""
    body = html.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("chrome", ["none", "compact", "full"])
def test_embedded_the_brand_header_follows_the_partners_choice(
    browser: Browser, portal_demo: Demo, partner_settings, chrome: str
):
    from connexportal.accounts.models import User
    from connexportal.embed.services import launch_create

    merchant = User.objects.get(email=MERCHANT.email).merchant
    host_html = (
        '<!doctype html><html lang="en"><title>Host</title>'
        '<iframe title="Connections" src="about:blank" width="1000" height="700"></iframe></html>'
    )
    context = _new_context(browser, portal_demo.url, width=1280, height=800)
    with partner_page(host_html) as host_url:
        partner_settings(embed_chrome=chrome, embed_origins=host_url)
        launch, _expires = launch_create(partner=merchant.partner, merchant=merchant)
        try:
            page = context.new_page()
            page.goto(host_url)
            # Launched once the partner's page is up: its origin is the one allowed to frame the portal.
            page.locator("iframe").evaluate("(frame, src) => { frame.src = src; }", f"{portal_demo.url}{launch}")
            frame = page.frame_locator("iframe")
            expect(frame.get_by_role("heading", level=1)).to_have_text("Connections")
            expect(frame.get_by_role("navigation", name="Main")).to_be_visible()
            expect(frame.locator(".brand")).to_have_count(0 if chrome == "none" else 1)
            height = frame.locator(".site-header").evaluate("header => header.getBoundingClientRect().height")
            if chrome != "full":
                assert height < 70, f"a {chrome} header should be slim, not {height} px"
        finally:
            context.close()


# --- Languages ---------------------------------------------------------------------------


def test_the_language_chosen_on_the_login_page_survives_a_direct_login(
    browser: Browser, portal_demo: Demo, forget_language
):
    from connexportal.accounts.models import User

    context = _new_context(browser, portal_demo.url, width=1280, height=800)
    try:
        page = context.new_page()
        page.goto("/login/")
        page.get_by_label("Language").select_option("es")
        page.get_by_role("button", name="Change").click()
        expect(page.locator("html")).to_have_attribute("lang", "es")
        page.get_by_label("Correo electrónico").fill(MERCHANT.email)
        page.get_by_label("Contraseña").fill(MERCHANT.password)
        page.get_by_role("button", name="Iniciar sesión").click()

        page.goto("/products/")
        expect(page.locator("html")).to_have_attribute("lang", "es")
        # Money as Spanish writes it: "18,74 US$", never "$18,74".
        expect(page.locator("#results td.num").first).to_have_text(re.compile(r"^[\d.]+,\d{2}\u00a0US\$$"))
        assert User.objects.get(email=MERCHANT.email).language == "es"
        assert_axe_clean(page)
    finally:
        context.close()


def test_the_switcher_in_the_app_is_remembered_for_the_user(
    merchant_page: Page, open_portal: Callable[..., Page], forget_language
):
    page = merchant_page
    page.goto("/orders/")
    page.get_by_label("Language").select_option("fr")
    page.get_by_role("button", name="Change").click()
    expect(page).to_have_url(re.compile(r"/orders/$"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Commandes")
    # Dates and money as French writes them: "1 juil. 2026, 08:05", "1 234,50 $US".
    first = page.locator("#results tbody > tr").first
    expect(first.locator("td").first).to_have_text(re.compile(r"^\d{1,2} \S+ \d{4}, \d{2}:\d{2}$"))
    expect(first.locator("> td.num")).to_have_text(re.compile(r"^[\d\u202f]+,\d{2}\u00a0\$US$"))

    elsewhere = open_portal()  # another browser: no language cookie, the user's saved language
    elsewhere.goto("/connections/")
    expect(elsewhere.locator("html")).to_have_attribute("lang", "fr")


# --- Phones ------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "folded"), [("/products/", "Type"), ("/orders/", "From")])
def test_on_a_phone_filters_fold_rows_stack_and_targets_are_big_enough(
    open_phone: Callable[..., Page], path: str, folded: str
):
    page = open_phone()
    page.goto(path)
    filters = page.locator("details.filters-more")
    expect(filters.locator("summary")).to_have_text("Filters")
    expect(page.get_by_label(folded, exact=True)).to_be_hidden()
    expect(page.locator("#results tbody > tr").first).to_be_visible()
    assert_no_sideways_scrolling(page)
    assert_tap_targets(
        page,
        "main button, main select, .site-nav a, .pager a, #results th a, #results td summary, .filters-more > summary",
    )
    assert_axe_clean(page)

    filters.locator("summary").click()
    expect(page.get_by_label(folded, exact=True)).to_be_visible()
    assert_no_sideways_scrolling(page)
    assert_tap_targets(page, "main .field.checkbox label, main select, main input:not([type=checkbox])")

    # A row is a card: its cells one under another, each labelled by its column.
    row = page.locator("#results tbody > tr").first
    boxes = row.locator("> td").evaluate_all("cells => cells.map((cell) => cell.getBoundingClientRect().top)")
    assert boxes == sorted(boxes) and len(set(boxes)) == len(boxes), "cells should stack"
    assert_axe_clean(page)


def test_on_a_phone_run_now_is_on_the_first_screen_of_the_settings(open_phone: Callable[..., Page], portal_demo: Demo):
    page = open_phone()
    page.goto(portal_demo.settings_path("Amazon US"))
    run_now = page.get_by_role("button", name="Run now")
    expect(run_now).to_be_visible()
    box = run_now.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"], f"Run now is at {box}"
    assert box["height"] >= MIN_TAP
    assert_no_sideways_scrolling(page)
    assert_axe_clean(page)


def test_on_a_desktop_the_filters_are_open(merchant_page: Page):
    page = merchant_page
    page.goto("/products/")
    expect(page.get_by_label("Type", exact=True)).to_be_visible()
    expect(page.locator("details.filters-more > summary")).to_be_hidden()

"""The portal embedded in a partner's page on another site, in Chromium: as it comes, and without cookies.

The portal is pytest-django's live server on http://localhost:<port>; the demo partner app
(connexportal/embed/demohost, what `manage.py run_demo_host` serves) runs on
http://127.0.0.1:<port2>, another site, and mints launch URLs through the real partner API.
Every request the browser sends is watched: the session token is in no URL and no Referer.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urljoin

import httpx
import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, Request, Route, expect

from tests.e2e.browser import DESKTOP_VIEWPORT, ConsoleLog, axe_scan, describe_violations
from tests.e2e.conftest import ACTION_TIMEOUT_MS, NAVIGATION_TIMEOUT_MS

pytestmark = pytest.mark.django_db(transaction=True)

# Long enough that the answer to the click still shows the run waiting, short enough that it is done
# by the first poll (every 2 s).
RUN_QUEUED_SECONDS = 1
RUN_RUNNING_SECONDS = 0.5
# Listed first, so that the frame must find the host's origin among the partner's, not fall back.
OTHER_PARTNER_ORIGIN = "https://app.partner.example"
SYNC_TIMEOUT_MS = 15_000


@dataclass
class Embedding:
    portal_url: str
    host_url: str
    foreign_url: str
    connection: object
    stripped_cookies: list[str] = field(default_factory=list)


@pytest.fixture
def embedding(live_server, settings) -> Iterator[Embedding]:
    """The seeded demo behind the live server, and the demo partner app on a second site embedding it."""
    from connexportal.accounts.models import Partner
    from connexportal.core.management.commands.seed_demo import DEMO_MERCHANTS, DEMO_PARTNER_KEY, DEMO_PARTNER_NAME
    from connexportal.embed.demohost import DemoHost, DemoHostServer
    from connexportal.sandbox.models import UserConnection

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CONNEX_ENVIRONMENTS = {**settings.CONNEX_ENVIRONMENTS, "sandbox": f"{live_server.url}/sandbox"}
    settings.CONNEX_SANDBOX_RUN_QUEUED_SECONDS = RUN_QUEUED_SECONDS
    settings.CONNEX_SANDBOX_RUN_RUNNING_SECONDS = RUN_RUNNING_SECONDS
    cache.clear()
    with override_settings(DEBUG=True):
        call_command("seed_demo", products=60, orders=60, stdout=io.StringIO())

    host = DemoHost(
        portal_url=live_server.url,
        api_key=DEMO_PARTNER_KEY,
        merchants=tuple(spec["external_id"] for spec in DEMO_MERCHANTS),
    )
    server = DemoHostServer(("127.0.0.1", 0), host)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    partner = Partner.objects.get(name=DEMO_PARTNER_NAME)
    partner.embed_origins = f"{OTHER_PARTNER_ORIGIN}\nhttp://127.0.0.1:{port}"
    partner.save()
    # The first demo merchant's connection that syncs orders, which Run now starts.
    connection = next(
        c
        for c in UserConnection.objects.filter(user__username=DEMO_MERCHANTS[0]["connex"][0]).order_by("id")
        if c.scheduled_tasks.filter(task_type=0).exists()
    )
    try:
        yield Embedding(
            portal_url=live_server.url,
            host_url=f"http://127.0.0.1:{port}/",
            # The same server under another name: another origin, allowed by nobody.
            foreign_url=f"http://localhost:{port}/host.css",
            connection=connection,
        )
    finally:
        server.shutdown()
        server.server_close()
        cache.clear()


def strip_set_cookie(embedding: Embedding) -> Callable[[Route], None]:
    """A route handler that fetches from the portal itself and drops every Set-Cookie, as Safari would."""

    def handle(route: Route) -> None:
        request = route.request
        headers = {
            name: value for name, value in request.all_headers().items() if name not in {"host", "content-length"}
        }
        response = httpx.request(
            request.method, request.url, headers=headers, content=request.post_data_buffer, timeout=20
        )
        kept = {}
        for name, value in response.headers.multi_items():
            if name == "set-cookie":
                embedding.stripped_cookies.append(value.split("=", 1)[0])
            elif name not in {"content-encoding", "content-length", "transfer-encoding"}:
                kept[name] = value
        route.fulfill(status=response.status_code, headers=kept, body=response.content)

    return handle


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=DESKTOP_VIEWPORT)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    yield context
    context.close()


@dataclass
class Traffic:
    """Every request the browser sent, and every address a frame was at."""

    requests: list[Request] = field(default_factory=list)
    frame_urls: list[str] = field(default_factory=list)

    @classmethod
    def watch(cls, context: BrowserContext) -> Traffic:
        traffic = cls()
        context.on("request", lambda request: traffic.requests.append(request))
        context.on("page", lambda page: page.on("framenavigated", lambda frame: traffic.frame_urls.append(frame.url)))
        return traffic

    def urls_with(self, text: str) -> list[str]:
        return [request.url for request in self.requests if text in request.url]

    def assert_no_session_token(self, token: str) -> None:
        assert token
        for request in self.requests:
            assert token not in request.url, request.url
            assert "embed=" not in request.url, request.url
            referer = request.all_headers().get("referer", "")
            assert token not in referer and "ticket=" not in referer, (request.url, referer)
        for url in self.frame_urls:
            assert token not in url, url


def session_token(page: Page) -> str:
    """The token the current portal page sends in its header (its frame script's settings)."""
    return json.loads(portal_frame(page).locator("#connex-embed").text_content())["token"]


def frame_location(page: Page) -> str:
    return portal_frame(page).locator("html").evaluate("() => location.href")


def open_host(context: BrowserContext, embedding: Embedding) -> tuple[Page, ConsoleLog]:
    page = context.new_page()
    console = ConsoleLog.attach(page)
    page.goto(embedding.host_url)
    expect(events(page, "ready")).to_have_count(1)
    return page, console


def events(page: Page, event_type: str | None = None):
    selector = "#event-log li" if event_type is None else f'#event-log li[data-type="{event_type}"]'
    return page.locator(selector)


def event_types(page: Page) -> list[str]:
    return events(page).evaluate_all("items => items.map(item => item.dataset.type)")


def portal_frame(page: Page):
    return page.frame_locator("#portal iframe")


def wait_until(page: Page, expression: str, timeout_ms: int = ACTION_TIMEOUT_MS) -> None:
    """Poll ``expression`` in the page until it is truthy: page.wait_for_function would need
    'unsafe-eval', which the partner page's CSP (rightly) refuses."""
    for _ in range(timeout_ms // 100):
        if page.evaluate(expression):
            return
        page.wait_for_timeout(100)
    pytest.fail(f"still false after {timeout_ms} ms: {expression}")


def iframe_fits_its_content(page: Page) -> bool:
    iframe = page.locator("#portal iframe")
    frame_height = iframe.evaluate("frame => frame.getBoundingClientRect().height")
    content_height = portal_frame(page).locator("html").evaluate("html => html.getBoundingClientRect().height")
    return abs(frame_height - content_height) <= 1


@pytest.mark.parametrize("cookies", ["as Chromium comes", "none at all (Safari)"])
def test_a_merchant_edits_settings_and_runs_a_sync_inside_the_partners_page(
    context: BrowserContext, embedding: Embedding, cookies: str
):
    from connexportal.sandbox.models import ConnectionSetting

    if cookies.startswith("none"):
        context.route(f"{embedding.portal_url}/**", strip_set_cookie(embedding))
    traffic = Traffic.watch(context)
    page, console = open_host(context, embedding)
    frame = portal_frame(page)

    expect(frame.get_by_role("heading", level=1)).to_have_text("Connections")
    token = session_token(page)
    # The first page opened with a navigation ticket, which its script took out of the address.
    assert len(traffic.urls_with("ticket=")) == 1
    assert frame_location(page) == f"{embedding.portal_url}/connections/"
    expect(page.locator("#portal iframe")).to_have_attribute("title", "Connex Portal")
    wait_until(page, "document.querySelector('#portal iframe').getBoundingClientRect().height > 480")
    assert iframe_fits_its_content(page)

    frame.get_by_role("link", name=f"Settings and sync for {embedding.connection.name}").click()
    expect(frame.get_by_role("heading", level=1)).to_contain_text(embedding.connection.name)
    expect(events(page, "navigated")).to_have_count(1)
    expect(events(page, "navigated")).to_contain_text(f"/connections/{embedding.connection.id}/settings/")

    summary = frame.get_by_label("How sales reach QuickBooks")
    choice = "0" if summary.input_value() != "0" else "1"
    summary.select_option(choice)
    frame.get_by_role("button", name="Save settings").click()
    expect(frame.get_by_text("Settings saved.")).to_be_visible()
    expect(events(page, "settings_saved")).to_have_count(1)
    expect(events(page, "settings_saved")).to_contain_text(f'"connection_id":{embedding.connection.id}')
    setting = ConnectionSetting.objects.get(connection_id=embedding.connection.id, name="SummaryTransactionGroupBy")
    assert setting.value == choice

    frame.get_by_role("button", name="Run now").click()
    expect(events(page, "sync_started")).to_have_count(1)
    expect(events(page, "sync_finished").or_(events(page, "sync_failed"))).to_have_count(1, timeout=SYNC_TIMEOUT_MS)
    expect(frame.locator("#run-status")).to_contain_text("Last sync:")

    # Back and forward inside the frame: htmx fetches the pages again with the header.
    page.evaluate("history.back()")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Connections")
    expect(events(page, "navigated")).to_have_count(2)
    page.evaluate("history.forward()")
    expect(frame.get_by_role("heading", level=1)).to_contain_text(embedding.connection.name)
    expect(events(page, "navigated")).to_have_count(3)
    expect(frame.get_by_role("button", name="Save settings")).to_be_visible()

    assert context.cookies(embedding.portal_url) == [], "the portal must not depend on (or get) cookies here"
    if cookies.startswith("none"):
        assert embedding.stripped_cookies, "the route should have stripped the cookies the portal offered"
    assert console.errors == []
    assert console.csp_violations == []
    sync_ended = "sync_finished" if "sync_finished" in event_types(page) else "sync_failed"
    assert event_types(page) == [
        "ready",
        "navigated",
        "settings_saved",
        "sync_started",
        sync_ended,
        "navigated",
        "navigated",
    ]
    assert len(traffic.urls_with("ticket=")) == 1
    traffic.assert_no_session_token(token)


def test_messages_from_anyone_but_the_portal_frame_and_its_host_are_ignored(
    context: BrowserContext, embedding: Embedding
):
    page, _console = open_host(context, embedding)
    frame = portal_frame(page)
    expect(frame.get_by_role("heading", level=1)).to_have_text("Connections")
    forged_event = "{source: 'connex-portal', type: 'sync_failed', connection_id: 1}"
    forged_command = "{source: 'connex-host', type: 'navigate', path: '/orders/'}"

    # The host page itself (the wrong origin for portal events).
    page.evaluate(f"window.postMessage({forged_event}, '*')")
    # Another page of the portal's origin, but not the mounted frame.
    sibling_url = f"{embedding.portal_url}/static/css/portal.css"
    with page.expect_event("framenavigated", predicate=lambda frame: frame.url == sibling_url) as navigated:
        page.evaluate(
            "url => { const other = document.createElement('iframe'); other.src = url; document.body.append(other); }",
            sibling_url,
        )
    sibling = navigated.value
    sibling.wait_for_load_state()
    sibling.evaluate(f"parent.postMessage({forged_event}, '*')")
    sibling.evaluate(f"parent.frames[0].postMessage({forged_command}, '*')")
    # A window of a third origin that holds a reference to both.
    with page.expect_popup() as opened:
        page.evaluate("url => window.open(url)", embedding.foreign_url)
    foreign = opened.value
    foreign.wait_for_load_state()
    foreign.evaluate(f"opener.postMessage({forged_event}, '*')")
    foreign.evaluate(f"opener.frames[0].postMessage({forged_command}, '*')")

    # The host's own command, sent after the forged ones, is obeyed.
    page.get_by_role("button", name="Products").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Products")
    expect(events(page, "navigated")).to_have_count(1)
    expect(events(page, "navigated")).to_contain_text('"path":"/products/"')
    page.wait_for_timeout(500)
    assert event_types(page) == ["ready", "navigated"]
    expect(frame.get_by_role("heading", level=1)).to_have_text("Products")


def test_an_ended_session_tells_the_host_which_opens_a_new_one(context: BrowserContext, embedding: Embedding):
    from connexportal.embed.models import EmbedSession

    page, console = open_host(context, embedding)
    frame = portal_frame(page)
    expect(frame.get_by_role("heading", level=1)).to_have_text("Connections")
    first_launch = page.locator("#portal iframe").get_attribute("src")

    EmbedSession.objects.update(expires_at=timezone.now())
    frame.get_by_role("navigation", name="Main").get_by_role("link", name="Products").click()

    expect(frame.get_by_role("heading", level=1)).to_have_text("Your session has ended")
    expect(events(page, "session_expired")).to_have_count(1)
    expect(page.locator("#status")).to_contain_text("press New session")
    frame.get_by_role("navigation", name="Main").get_by_role("link", name="Orders").click()
    page.wait_for_timeout(500)
    expect(events(page, "session_expired")).to_have_count(1)

    page.get_by_role("button", name="New session").click()
    expect(events(page, "ready")).to_have_count(2)
    expect(frame.get_by_role("heading", level=1)).to_have_text("Connections")

    # The first launch URL again: used, so the frame says so and the host hears why.
    page.evaluate(
        "url => { window.replay = ConnexPortal.mount(document.body, {url, onEvent: e => window.replayed = e}); }",
        first_launch,
    )
    wait_until(page, "window.replayed && window.replayed.type === 'launch_failed'")
    assert page.evaluate("window.replayed") == {"type": "launch_failed", "reason": "used"}
    replay_frame = page.frame_locator("body > iframe")
    expect(replay_frame.get_by_role("heading", level=1)).to_have_text("This link has already been used")
    unexpected = [error for error in console.errors if "401" not in error and "410" not in error]
    assert unexpected == []


def test_a_full_page_load_in_the_frame_opens_with_a_ticket_and_a_reload_recovers_through_the_host(
    context: BrowserContext, embedding: Embedding
):
    traffic = Traffic.watch(context)
    page, console = open_host(context, embedding)
    frame = portal_frame(page)
    expect(frame.get_by_role("heading", level=1)).to_have_text("Connections")
    token = session_token(page)

    # A link htmx does not take (it never processed this one): a full-page load, with a ticket.
    frame.locator("main").evaluate(
        """main => {
          const link = Object.assign(document.createElement("a"), {href: "/orders/?q=none-such", id: "plain"});
          link.textContent = "Plain link";
          main.prepend(link);
        }"""
    )
    frame.locator("#plain").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Orders")
    expect(events(page, "ready")).to_have_count(2)
    expect(events(page, "ready").last).to_contain_text('"path":"/orders/?q=none-such"')
    assert frame_location(page) == f"{embedding.portal_url}/orders/?q=none-such"
    ticket_urls = traffic.urls_with("ticket=")
    assert len(ticket_urls) == 2, ticket_urls
    assert session_token(page) == token, "the page opened with the ticket carries the same session on"
    # The page opened with the ticket works as any: htmx sends the header.
    frame.get_by_role("navigation", name="Main").get_by_role("link", name="Products").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Products")

    # A reload carries nothing (the address holds no ticket): the frame says so, the host hears it.
    frame.locator("html").evaluate("() => location.reload()")
    expect(frame.get_by_role("heading", level=1)).to_have_text("This page cannot be opened from its address")
    expect(events(page, "session_expired")).to_have_count(1)
    expect(events(page, "session_expired")).to_contain_text('"reason":"missing"')
    expect(page.locator("#status")).to_contain_text("press New session")
    expect(frame.get_by_text("Products")).to_have_count(0)

    # A ticket read from a log line later: spent, so it opens nothing either.
    page.locator("#portal iframe").evaluate("(iframe, url) => { iframe.src = url; }", ticket_urls[-1])
    expect(events(page, "session_expired")).to_have_count(2)
    expect(events(page, "session_expired").last).to_contain_text('"reason":"used"')
    expect(frame.get_by_role("heading", level=1)).to_have_text("This page cannot be opened from its address")
    assert "Orders" not in frame.locator("body").inner_text()

    page.get_by_role("button", name="New session").click()
    expect(events(page, "ready")).to_have_count(3)
    expect(frame.get_by_role("heading", level=1)).to_have_text("Connections")

    traffic.assert_no_session_token(token)
    traffic.assert_no_session_token(session_token(page))
    unexpected = [error for error in console.errors if "401" not in error]
    assert unexpected == []
    assert console.csp_violations == []


# What connex-embed.js shows in place of a frame the portal refused, unless the partner gives its own text.
DEFAULT_FAILED_TEXT = "Connex Portal could not be shown on this page. If this keeps happening, please contact support."
# The SDK waits this long after the frame loads for the portal to answer (3 s), with room to spare.
REFUSAL_TIMEOUT_MS = 10_000


def mint_launch_url(page: Page) -> str:
    """A fresh launch URL from the demo partner app's own server, as its page gets one."""
    return page.evaluate(
        """async () => {
          const response = await fetch("/sessions", {
            method: "POST",
            headers: {"Content-Type": "application/json"},
            body: JSON.stringify({merchant: document.getElementById("merchant").value, language: ""}),
          });
          return (await response.json()).url;
        }"""
    )


def test_a_page_the_partner_does_not_allow_hears_launch_failed_and_shows_why(
    context: BrowserContext, embedding: Embedding
):
    page = context.new_page()
    console = ConsoleLog.attach(page)
    # The demo partner app on an origin the partner does not list: frame-ancestors refuses the portal.
    page.goto(urljoin(embedding.foreign_url, "/"))

    expect(events(page, "launch_failed")).to_have_count(1, timeout=REFUSAL_TIMEOUT_MS)
    expect(events(page, "launch_failed")).to_contain_text('"reason":"frame_refused"')
    notice = page.locator("#portal").get_by_role("alert")
    expect(notice).to_have_text(DEFAULT_FAILED_TEXT)
    expect(page.locator("#portal iframe")).to_be_hidden()
    expect(page.locator("#status")).to_contain_text("the partner does not allow")
    assert event_types(page) == ["launch_failed"]
    assert any("frame-ancestors" in error for error in console.errors), console.errors
    assert any("is not among the partner's embed origins" in error for error in console.errors), console.errors
    violations = axe_scan(page)
    assert violations == [], describe_violations(violations)

    # The partner's own words instead; destroy() takes the notice away with the frame.
    page.evaluate(
        """url => {
          const box = Object.assign(document.createElement("div"), {id: "own-text"});
          document.querySelector("main").append(box);
          window.ownText = ConnexPortal.mount(box, {
            url, failedText: "Our billing pages are resting. Try again tonight.", onEvent: e => { window.heard = e; },
          });
        }""",
        mint_launch_url(page),
    )
    expect(page.locator("#own-text").get_by_role("alert")).to_have_text(
        "Our billing pages are resting. Try again tonight.", timeout=REFUSAL_TIMEOUT_MS
    )
    assert page.evaluate("window.heard") == {"type": "launch_failed", "reason": "frame_refused"}
    page.evaluate("window.ownText.destroy()")
    expect(page.locator("#own-text > *")).to_have_count(0)


def test_an_allowed_page_that_opens_the_portal_hears_nothing_of_a_refusal(
    context: BrowserContext, embedding: Embedding
):
    page, console = open_host(context, embedding)
    expect(portal_frame(page).get_by_role("heading", level=1)).to_have_text("Connections")
    # Past the SDK's wait for an answer: the frame that answered stays, and nothing failed.
    page.wait_for_timeout(4_000)
    expect(page.locator("#portal iframe")).to_be_visible()
    expect(page.locator("#portal").get_by_role("alert")).to_have_count(0)
    assert event_types(page) == ["ready"]
    assert console.errors == []


@pytest.mark.parametrize(
    ("launch", "reason", "heading"),
    [
        ("unknown", "unknown", "This link to the portal is not valid"),
        ("expired", "expired", "This link has expired"),
    ],
)
def test_a_launch_url_that_cannot_open_tells_the_host_and_says_why_in_the_frame(
    context: BrowserContext, embedding: Embedding, launch: str, reason: str, heading: str
):
    from connexportal.embed.models import EmbedLaunch

    page, console = open_host(context, embedding)
    if launch == "unknown":
        url = f"{embedding.portal_url}/embed/launch/not-a-token-anyone-issued"
    else:
        url = mint_launch_url(page)
        EmbedLaunch.objects.filter(used_at__isnull=True).update(expires_at=timezone.now())

    page.evaluate(
        """url => {
          const box = Object.assign(document.createElement("div"), {id: "second"});
          document.querySelector("main").append(box);
          ConnexPortal.mount(box, {url, onEvent: e => { window.heard = e; }});
        }""",
        url,
    )
    wait_until(page, "window.heard && window.heard.type === 'launch_failed'")
    assert page.evaluate("window.heard") == {"type": "launch_failed", "reason": reason}
    frame = page.frame_locator("#second iframe")
    expect(frame.get_by_role("heading", level=1)).to_have_text(heading)
    expect(frame.get_by_role("alert")).to_contain_text("Open the portal again")
    # A refusal page answered: the frame stays, with no notice from the host's side.
    page.wait_for_timeout(4_000)
    expect(page.locator("#second iframe")).to_be_visible()
    expect(page.locator("#second > p")).to_have_count(0)
    refusal = page.locator("#second iframe").element_handle().content_frame()
    violations = axe_scan(refusal) + axe_scan(page)
    assert violations == [], describe_violations(violations)
    unexpected = [error for error in console.errors if "404" not in error and "410" not in error]
    assert unexpected == []

"""Browser tests: one Chromium per session, a fresh context per test, pages served by a live server.

Most tests use pytest-django's ``live_server``; the merchant pages' tests use ``portal_server`` and
module-wide demo data instead (see tests/e2e/portal.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test.utils import modify_settings, setup_databases, teardown_databases
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP_VIEWPORT, NARROW_WIDTH, ConsoleLog
from tests.e2e.portal import MERCHANT, Demo, Login, forget_demo, portal_settings, seed_demo, session_cookie
from tests.e2e.server import LiveServer

E2E_DIR = Path(__file__).resolve().parent
# Read before pytest-django points the connection at a test database; see portal_database.
CONFIGURED_DATABASE_NAME = connection.settings_dict["NAME"]

# Short enough that a missing element fails in seconds, long enough for a loaded 2-core CI machine.
ACTION_TIMEOUT_MS = 5_000
NAVIGATION_TIMEOUT_MS = 15_000


def _is_e2e(item: pytest.Item) -> bool:
    return item.path.is_relative_to(E2E_DIR)


def pytest_itemcollected(item: pytest.Item) -> None:
    """Mark every test here ``e2e`` as it is collected, in time for ``-m "not e2e"``."""
    if _is_e2e(item):
        item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the browser tests last, after pytest-django's own ordering.

    Last, because while the browser is open the ORM's async-safety check is off (see ``browser``):
    the other tests keep it.
    """
    items.sort(key=_is_e2e)


@pytest.fixture(scope="session")
def browser(django_db_setup) -> Iterator[Browser]:
    # The test database is made before the browser opens, so that it is dropped after the browser's
    # teardown below has closed the connections the browser tests opened (else, with a browser
    # test file run alone, the drop would come first and fail: "being accessed by other users").
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"The browser tests need Chromium at {CHROMIUM}, and it is missing. "
            "Run `make test` once: it installs Chromium (apt-get) and then runs the suite.",
            pytrace=False,
        )
    # Between calls Playwright's sync API leaves its idle event loop marked as running in this thread,
    # so Django would refuse every ORM call from test code (fixtures, database teardown) as "async".
    with pytest.MonkeyPatch.context() as env, sync_playwright() as playwright:
        env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
        # With that loop marked running, Django keeps this thread's database connections apart from
        # the ones it had before the browser opened (asgiref's Local holds them per asyncio context):
        # what the browser tests opened here would stay open once the loop is no longer marked
        # running, unseen by the database teardown that follows (pytest-django's, when other tests
        # set the database up before the browser), which then cannot drop the test database.
        connections.close_all()


def _new_context(browser: Browser, base_url: str, *, width: int, height: int) -> BrowserContext:
    context = browser.new_context(base_url=base_url, viewport={"width": width, "height": height})
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    return context


@pytest.fixture(scope="session")
def live_server(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """pytest-django's ``live_server`` (same address options), whose stop ends its request threads.

    See tests/e2e/server.py: pytest-django's own left them, with their database connections, open.
    """
    addr = request.config.getvalue("liveserver") or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    server = LiveServer(addr)
    yield server
    server.stop()


@pytest.fixture
def new_page(browser: Browser, live_server) -> Iterator[Callable[..., Page]]:
    """Open pages in fresh contexts (own cookies and storage) whose relative URLs go to the live server."""
    contexts = []

    def open_page(*, width: int = DESKTOP_VIEWPORT["width"], height: int = DESKTOP_VIEWPORT["height"]) -> Page:
        context = _new_context(browser, live_server.url, width=width, height=height)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    return new_page()


@pytest.fixture
def narrow_page(new_page: Callable[..., Page]) -> Page:
    return new_page(width=NARROW_WIDTH)


@pytest.fixture
def console(page: Page) -> ConsoleLog:
    """The console of ``page``, recorded from before its first navigation."""
    return ConsoleLog.attach(page)


# --- The merchant pages: demo data on a server of their own (see tests/e2e/portal.py) ----


@pytest.fixture(scope="session")
def portal_database(django_db_setup, django_db_blocker) -> Iterator[None]:
    """The test database, also when pytest-django made none.

    pytest-django creates test databases only if a collected test asks for one (a django_db mark,
    ``db``, ``live_server``). The portal's tests ask for none, as they share module-wide data, so run
    on their own they would find the connection still on the real database, and seed and flush it.
    """
    if connection.settings_dict["NAME"] != CONFIGURED_DATABASE_NAME:
        yield
        return
    with django_db_blocker.unblock():
        created = setup_databases(verbosity=0, interactive=False, aliases={DEFAULT_DB_ALIAS})
    if connection.settings_dict["NAME"] == CONFIGURED_DATABASE_NAME:
        pytest.fail("The portal's browser tests found no test database to use.", pytrace=False)
    yield
    with django_db_blocker.unblock():
        teardown_databases(created, verbosity=0)


@pytest.fixture(scope="session")
def portal_server(portal_database, django_db_blocker) -> Iterator[LiveServer]:
    with django_db_blocker.unblock():
        server = LiveServer("localhost")
    # What pytest-django's live_server does per test: let the server's host through.
    allow_host = modify_settings(ALLOWED_HOSTS={"append": "localhost"})
    allow_host.enable()
    yield server
    allow_host.disable()
    server.stop()


@pytest.fixture(scope="module")
def portal_demo(portal_server: LiveServer, django_db_blocker) -> Iterator[Demo]:
    """Demo data seeded once for the module's tests, which share it (and what they change in it).

    The database stays open to the tests and the server for the whole module; it is flushed after.
    """
    from connexportal.sandbox import faults

    with django_db_blocker.unblock(), portal_settings(portal_server.url):
        demo = seed_demo(portal_server.url)
        try:
            yield demo
        finally:
            faults.clear()
            forget_demo()


@pytest.fixture
def open_portal(browser: Browser, portal_demo: Demo) -> Iterator[Callable[..., Page]]:
    """Open pages on the demo in fresh contexts, logged in as ``login`` (None: logged out)."""
    contexts = []

    def open_page(*, login: Login | None = MERCHANT) -> Page:
        context = _new_context(browser, portal_demo.url, **DESKTOP_VIEWPORT)
        contexts.append(context)
        if login is not None:
            context.add_cookies([session_cookie(login, portal_demo.url)])
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def merchant_page(open_portal: Callable[..., Page]) -> Page:
    """A desktop page logged in as the first demo merchant."""
    return open_portal()


@pytest.fixture
def merchant_console(merchant_page: Page) -> ConsoleLog:
    return ConsoleLog.attach(merchant_page)

"""Helpers for the browser tests: how Chromium is launched, console capture and axe-core scans."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import ConsoleMessage, Error, Page

# Debian's Chromium, installed by `make test`: Playwright's own browser download cannot reach its CDN here.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # Fail closed: a page that reaches for any host but this machine gets a console error, not the internet.
    # 127.0.0.1 is a second site beside localhost: the embedding tests put the partner's page there.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]

DESKTOP_VIEWPORT = {"width": 1280, "height": 800}
# The narrowest phone the portal supports; pages must fit it without horizontal scrolling.
NARROW_WIDTH = 360

BLOCKING_IMPACTS = frozenset({"serious", "critical"})
_axe = Axe()


@dataclass
class ConsoleLog:
    """What a page wrote to the browser console, and the exceptions nothing caught.

    ``messages`` holds (type, text) pairs; a message about a resource names its URL at the end.
    """

    messages: list[tuple[str, str]] = field(default_factory=list)
    uncaught: list[str] = field(default_factory=list)

    @classmethod
    def attach(cls, page: Page) -> ConsoleLog:
        """Start recording ``page``; attach before navigating, or early messages are lost."""
        log = cls()
        page.on("console", log._record)
        page.on("pageerror", log._record_uncaught)
        return log

    def _record(self, message: ConsoleMessage) -> None:
        url = message.location.get("url", "")
        # Chromium asks for /favicon.ico on its own, racing the test; the pages never link it.
        if urlsplit(url).path == "/favicon.ico":
            return
        self.messages.append((message.type, f"{message.text} [{url}]" if url else message.text))

    def _record_uncaught(self, error: Error) -> None:
        self.uncaught.append(f"{error.name}: {error.message}")

    @property
    def errors(self) -> list[str]:
        return [text for kind, text in self.messages if kind == "error"] + self.uncaught

    @property
    def csp_violations(self) -> list[str]:
        """CSP reports at any level, so report-only policies (warnings) count too."""
        return [text for _, text in self.messages if "Content Security Policy" in text]


def axe_scan(page: Page) -> list[dict]:
    """Run axe-core on the page as it is now; return the violations with serious or critical impact."""
    results = _axe.run(page)
    return [violation for violation in results.response["violations"] if violation["impact"] in BLOCKING_IMPACTS]


def describe_violations(violations: list[dict]) -> str:
    """One line per violation and element, for an assertion message that says what to fix."""
    return "\n".join(
        f"{violation['id']} ({violation['impact']}): {violation['help']} -> {', '.join(map(str, node['target']))}"
        for violation in violations
        for node in violation["nodes"]
    )

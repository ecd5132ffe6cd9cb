"""Benchmark of a merchant page's first load in a browser: every byte it costs, from which hosts.

Starts, on 127.0.0.1 with a throwaway SQLite database, the Connex sandbox (gunicorn, no injected
latency: only bytes are measured here) and the portal as production serves it (gunicorn, DEBUG
off, static files collected and served by WhiteNoise with their precompressed copies, HTML
compressed by the portal's middleware). Then Chromium (Playwright, /usr/bin/chromium) logs in
as the demo merchant and opens each merchant page in a fresh browser context with an empty
cache: the HTML and everything it pulls in (CSS, JS, icons).

For each page it prints every response (bytes on the wire: encoded body plus headers, and the
Content-Encoding), the total, and the hosts asked. Targets: at most 30 KB per page, and no
request to any host but the portal. Takes about half a minute.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

# Run as a plain script (`python bench/bench_first_load.py`): make the project importable.
BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

from bench_portal import (  # noqa: E402
    CONNEX_LOGIN,
    GUNICORN,
    MERCHANT_LOGIN,
    BenchError,
    Portal,
    Server,
    Upstream,
    base_env,
    free_port,
    manage,
    run_benchmark,
    start,
    wait_until,
)

from connexportal.connex import routes  # noqa: E402
from connexportal.connex.models import CONNECTIONS_ADAPTER  # noqa: E402

TARGET_KB = 30.0
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# What the TLS-terminating proxy tells the portal in production: with DEBUG off, plain http would
# be redirected to https otherwise.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


@dataclass
class Fetch:
    url: str
    status: int
    body_bytes: int
    header_bytes: int
    encoding: str

    @property
    def total(self) -> int:
        return self.body_bytes + self.header_bytes


@dataclass
class PageLoad:
    path: str
    fetches: list[Fetch] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def kb(self) -> float:
        return sum(fetch.total for fetch in self.fetches) / 1024

    def other_hosts(self, own: str) -> set[str]:
        hosts = {urlsplit(url).netloc for url in [*(fetch.url for fetch in self.fetches), *self.failed]}
        return {host for host in hosts if host != own}


def first_load(browser, base_url: str, state: dict, path: str) -> PageLoad:
    """``path`` opened in a new context (empty cache) that carries the logged-in session."""
    context = browser.new_context(base_url=base_url, storage_state=state, extra_http_headers=PROXY_HEADERS)
    load = PageLoad(path)

    def finished(request) -> None:
        response = request.response()
        sizes = request.sizes()
        load.fetches.append(
            Fetch(
                url=request.url,
                status=response.status if response else 0,
                body_bytes=sizes["responseBodySize"],
                header_bytes=sizes["responseHeadersSize"],
                encoding=(response.headers.get("content-encoding", "") if response else ""),
            )
        )

    try:
        page = context.new_page()
        page.on("requestfinished", finished)
        page.on("requestfailed", lambda request: load.failed.append(request.url))
        response = page.goto(path, wait_until="networkidle")
        if response is None or response.status != 200 or urlsplit(response.url).path != path:
            where = f"{response.status} at {response.url}" if response else "nothing"
            raise BenchError(f"{path} answered {where} in the browser, not the page itself")
        page.wait_for_timeout(300)  # late fetches (an icon) land in the count too
    finally:
        context.close()
    return load


def log_in(base_url: str) -> dict:
    """The demo merchant's session as a browser context's storage state. The login form is posted
    by bench_portal's client, which says it came through the TLS proxy (Origin https://...); a
    browser on plain http cannot, and the CSRF origin check would refuse it."""
    portal = Portal(base_url)
    try:
        portal.log_in(*MERCHANT_LOGIN)
    finally:
        portal.close()
    host = urlsplit(base_url).hostname
    cookies = [part.split("=", 1) for part in portal.session_cookie.split("; ")]
    return {
        "cookies": [
            {
                "name": name,
                "value": value,
                "domain": host,
                "path": "/",
                "secure": True,
                "httpOnly": True,
                "sameSite": "Lax",
                "expires": -1,
            }
            for name, value in cookies
        ],
        "origins": [],
    }


def run(workdir: Path, servers: list[Server]) -> int:
    from playwright.sync_api import sync_playwright

    env = base_env(workdir)
    print("== setup")
    seed_env = {**env, "DEBUG": "true", "CONNEX_SANDBOX": "true"}
    manage(["migrate", "--no-input", "-v", "0"], seed_env)
    manage(["seed_demo"], seed_env)
    manage(["collectstatic", "--no-input", "-v", "0"], {**env, "DEBUG": "false"})
    sandbox_port, portal_port = free_port(), free_port()
    sandbox_url, portal_url = f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{portal_port}"
    sandbox = [*GUNICORN, "connexportal.sandbox.wsgi:application", "--bind", f"127.0.0.1:{sandbox_port}"]
    servers.append(start("sandbox", [*sandbox, "--workers", "1", "--threads", "4"], {**seed_env}, workdir))
    portal_env = {**env, "DEBUG": "false", "CONNEX_SANDBOX": "false", "CONNEX_SANDBOX_URL": sandbox_url}
    portal = [*GUNICORN, "connexportal.wsgi:application", "--bind", f"127.0.0.1:{portal_port}"]
    servers.append(start("portal", [*portal, "--workers", "1", "--threads", "4"], portal_env, workdir))
    wait_until(servers[0], lambda: httpx.get(f"{sandbox_url}/", timeout=2).status_code < 500)
    wait_until(servers[1], lambda: httpx.get(f"{portal_url}/healthz", timeout=2).status_code == 200)
    upstream = Upstream(sandbox_url)
    try:
        upstream.log_in(*CONNEX_LOGIN)
        listed = CONNECTIONS_ADAPTER.validate_json(upstream.call(routes.LIST_CONNECTIONS, None).content)
    finally:
        upstream.http.close()
    live = [item.id for item in listed if not item.deleted]
    if not live:
        raise BenchError("the demo merchant's sandbox account has no connection for the settings page")
    paths = ["/connections/", "/products/", "/orders/", f"/connections/{live[0]}/settings/"]
    print(f"portal: gunicorn {portal_url}, DEBUG off, WhiteNoise (collected, precompressed); browser: {CHROMIUM}")

    own_host = urlsplit(portal_url).netloc
    state = log_in(portal_url)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            loads = [first_load(browser, portal_url, state, path) for path in paths]
        finally:
            browser.close()

    size_met = hosts_met = True
    for load in loads:
        print(f"\n== {load.path}")
        for fetch in load.fetches:
            encoding = fetch.encoding or "identity"
            name = urlsplit(fetch.url).path
            print(f"  {fetch.status} {name:<52} {fetch.total / 1024:6.1f} KB  ({encoding})")
        others = load.other_hosts(own_host)
        ok_size, ok_hosts = load.kb <= TARGET_KB, not others and not load.failed
        size_met, hosts_met = size_met and ok_size, hosts_met and ok_hosts
        print(f"  total {load.kb:.1f} KB in {len(load.fetches)} responses: {'PASS' if ok_size else 'FAIL'}")
        print(f"  other hosts: {', '.join(sorted(others)) or 'none'}; failed requests: {len(load.failed)}")
    verdict = "PASS" if size_met else "FAIL"
    print(f"\ntarget: first load <= {TARGET_KB:.0f} KB per page (HTML + CSS + JS, as sent): {verdict}")
    print(f"target: zero requests to other hosts: {'PASS' if hosts_met else 'FAIL'}")
    passed = size_met and hosts_met
    print(f"\n== result: {'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (database, server logs)")
    options = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"FAIL: the first-load benchmark drives Chromium at {CHROMIUM} (Debian package 'chromium')")
        return 1
    return run_benchmark("bench-first-load-", run, keep=options.keep)


if __name__ == "__main__":
    sys.exit(main())

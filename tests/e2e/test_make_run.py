"""The demo as `make run PORT=... DEMO_HOST_PORT=...` starts it, on ports other than 8000 and 8001.

The portal and the demo partner app run as their own processes with the environment and arguments
`make run` gives them (tests/core/test_make_run.py checks the Makefile hands them over), on a
database of their own. A merchant logs in and sees the connections the in-process sandbox serves on
the portal's port, and the demo partner app embeds the portal from its port.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import PROJECT_DIR, run_manage
from tests.e2e.browser import DESKTOP_VIEWPORT, ConsoleLog, axe_scan, describe_violations
from tests.e2e.conftest import ACTION_TIMEOUT_MS, NAVIGATION_TIMEOUT_MS

STARTUP_SECONDS = 30


@dataclass
class RunningDemo:
    portal_url: str
    partner_app_url: str
    portal_log: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{url}: the process exited with {process.returncode}:\n{process.stdout.read()}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"{url} did not answer within {STARTUP_SECONDS} s")


def start(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(PROJECT_DIR / "manage.py"), *args],
        env={"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", **env},
        cwd=PROJECT_DIR,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def running_demo(tmp_path: Path) -> Iterator[RunningDemo]:
    port, demo_host_port = free_port(), free_port()
    # What RUN_ENV holds, on a database of its own.
    env = {
        "DEBUG": "true",
        "CONNEX_SANDBOX": "true",
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    for command in (
        ("migrate", "--no-input", "-v", "0"),
        ("seed_demo", "--products", "30", "--orders", "30", "--demo-host-port", str(demo_host_port)),
    ):
        result = run_manage(*command, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
    portal_url = f"http://127.0.0.1:{port}"
    processes = [
        start("runserver", "--noreload", f"127.0.0.1:{port}", env=env, log=tmp_path / "portal.log"),
        start(
            "run_demo_host",
            "--port",
            str(demo_host_port),
            "--portal",
            portal_url,
            env=env,
            log=tmp_path / "partner-app.log",
        ),
    ]
    try:
        wait_for(f"{portal_url}/healthz", processes[0])
        wait_for(f"http://127.0.0.1:{demo_host_port}/host.css", processes[1])
        yield RunningDemo(
            portal_url=portal_url,
            partner_app_url=f"http://localhost:{demo_host_port}/",
            portal_log=tmp_path / "portal.log",
        )
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


def test_the_demo_on_other_ports_shows_connections_and_embeds_the_portal(browser: Browser, running_demo: RunningDemo):
    context = browser.new_context(viewport=DESKTOP_VIEWPORT)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    try:
        page = context.new_page()
        console = ConsoleLog.attach(page)
        page.goto(f"{running_demo.portal_url}/")
        page.get_by_role("link", name="Log in").click()
        page.get_by_label("Email").fill("merchant@demo.test")
        page.get_by_label("Password").fill("demo-merchant")
        page.get_by_role("button", name="Log in").click()

        expect(page).to_have_url(f"{running_demo.portal_url}/connections/")
        expect(page.get_by_role("link", name=re.compile(r"^Settings and sync for ")).first).to_be_visible()
        expect(page.get_by_text("not answering")).to_have_count(0)
        # This server's own sandbox answered (not whatever else may be listening on port 8000).
        assert '"POST /sandbox/api/account/login HTTP/1.1" 200' in running_demo.portal_log.read_text()
        violations = axe_scan(page)
        assert violations == [], describe_violations(violations)
        assert console.errors == []

        partner_app = context.new_page()
        partner_console = ConsoleLog.attach(partner_app)
        partner_app.goto(running_demo.partner_app_url)
        expect(partner_app.locator('#event-log li[data-type="ready"]')).to_have_count(1)
        frame = partner_app.frame_locator("#portal iframe")
        expect(frame.get_by_role("heading", level=1)).to_have_text("Connections")
        expect(frame.get_by_role("link", name=re.compile(r"^Settings and sync for ")).first).to_be_visible()
        expect(partner_app.locator('#event-log li[data-type="launch_failed"]')).to_have_count(0)
        violations = axe_scan(partner_app)
        assert violations == [], describe_violations(violations)
        assert partner_console.errors == []
    finally:
        context.close()

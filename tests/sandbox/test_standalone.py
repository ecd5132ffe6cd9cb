"""The sandbox as its own origin: routes at the root, in-process and over a real socket."""

import os
import queue
import re
import subprocess
import sys
import threading

import httpx
import pytest

from connexportal.connex import routes

from ..conftest import PROJECT_DIR
from .conftest import make_connection, make_user


@pytest.mark.django_db(transaction=True)
def test_the_standalone_wsgi_application_serves_the_routes_at_the_root():
    from connexportal.sandbox.wsgi import application

    make_connection(make_user("merchant@example.test"))
    with httpx.Client(transport=httpx.WSGITransport(app=application), base_url="http://testserver") as client:
        login = client.post(
            f"/{routes.LOGIN.path}", json={"username": "merchant@example.test", "password": "sandbox-test-password"}
        )
        assert login.status_code == 200
        token = login.json()["token"]
        listed = client.get(f"/{routes.LIST_CONNECTIONS.path}", headers={"Authorization": f"Bearer {token}"})
        assert listed.status_code == 200 and listed.json()[0]["userConnectionName"] == "Shopify Store"
        # Only the sandbox lives on this origin: the portal's pages are not there.
        assert client.get("/healthz").status_code == 404


def _read_lines(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)


def test_runsandbox_serves_a_real_socket_and_sees_faults_set_by_another_process(manage, tmp_path):
    env = {
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'sandbox.sqlite3'}",
        "DJANGO_RUNSERVER_HIDE_WARNING": "true",
    }
    for command in (("migrate", "--no-input", "-v", "0"), ("seed_sandbox", "--products", "8", "--orders", "4")):
        result = manage(*command, env=env)
        assert result.returncode == 0, result.stderr
    server = subprocess.Popen(
        [sys.executable, str(PROJECT_DIR / "manage.py"), "runsandbox", "--noreload", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), **env},
        cwd=PROJECT_DIR,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_read_lines, args=(server.stdout, lines), daemon=True).start()
    try:
        base = None
        while base is None:
            line = lines.get(timeout=30)
            if match := re.search(r"Connex sandbox at (http://127\.0\.0\.1:\d+)/", line):
                base = match.group(1)
        with httpx.Client(base_url=base, timeout=10) as client:
            login = client.post(
                f"/{routes.LOGIN.path}", json={"username": "qbotest@intuit.com", "password": "connex-demo"}
            )
            assert login.status_code == 200
            headers = {"Authorization": f"Bearer {login.json()['token']}"}
            assert len(client.get(f"/{routes.LIST_CONNECTIONS.path}", headers=headers).json()) == 4
            assert client.post(f"/sandbox/{routes.LOGIN.path}", json={}).status_code == 404

            configure = "from connexportal.sandbox import faults; faults.configure('503=1,next=1')"
            assert manage("shell", "-c", configure, env=env).returncode == 0
            assert client.get(f"/{routes.LIST_CONNECTIONS.path}", headers=headers).status_code == 503
            assert client.get(f"/{routes.LIST_CONNECTIONS.path}", headers=headers).status_code == 200
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

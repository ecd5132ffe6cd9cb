"""The production deployment in miniature, for the scale-out tests: a throwaway PostgreSQL
database, a Redis database of its own, the sandbox as its own gunicorn process behind a
recording proxy (every request's arrival time), portals under gunicorn and db_workers.

Everything listens on 127.0.0.1 and is stopped (process groups) and dropped afterwards.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent
PYTHON = sys.executable
# The Redis database the servers share; flushed before and after (pytest's own cache uses REDIS_URL's).
SERVERS_REDIS_DB = 12
DEMO_MERCHANT = ("merchant@demo.test", "demo-merchant")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


@contextlib.contextmanager
def throwaway_database(server_url: str):
    """A PostgreSQL database created for the test and dropped (with its connections) afterwards."""
    import psycopg

    name = f"scaleout_{uuid.uuid4().hex[:12]}"
    admin = with_path(server_url, "/postgres")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_path(server_url, f"/{name}")
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def query(database_url: str, sql: str, *params) -> list[tuple]:
    import psycopg

    with psycopg.connect(database_url) as connection:
        return connection.execute(sql, params).fetchall()


@contextlib.contextmanager
def servers_redis(redis_url: str):
    import redis

    url = with_path(redis_url, f"/{SERVERS_REDIS_DB}")
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


def base_env(database_url: str, redis_url: str, workdir: Path) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = {name: value for name, value in os.environ.items() if not name.startswith(("CONNEX_", "DJANGO_"))}
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": base64.urlsafe_b64encode(secrets.token_bytes(48)).decode(),
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DEBUG": "true",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "TMPDIR": str(workdir),
        }
    )
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    result = subprocess.run(
        [PYTHON, str(PROJECT_DIR / "manage.py"), *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM to the process group (gunicorn's workers too), then SIGKILL to what is left."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)


@dataclass
class Deployment:
    workdir: Path
    env: dict[str, str]
    servers: list[Server] = field(default_factory=list)

    def start(self, name: str, command: list[str], env: dict[str, str] | None = None) -> Server:
        log_path = self.workdir / f"{name}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                cwd=PROJECT_DIR,
                env=env or self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = Server(name, process, log_path)
        self.servers.append(server)
        return server

    def gunicorn(self, name: str, app: str, port: int, *options: str, env: dict[str, str] | None = None) -> Server:
        command = [PYTHON, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}", "--timeout", "30", *options]
        server = self.start(name, command, env)
        wait_ready(server, f"http://127.0.0.1:{port}/healthz" if "sandbox" not in app else f"http://127.0.0.1:{port}/")
        return server

    def stop(self) -> None:
        for server in reversed(self.servers):
            server.stop()


def wait_ready(server: Server, url: str, timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.process.poll() is None, f"{server.name} exited:\n{server.log()[-3000:]}"
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(url, timeout=2)
            return
        time.sleep(0.2)
    raise AssertionError(f"{server.name} did not answer in {timeout:.0f}s:\n{server.log()[-3000:]}")


class RecordingProxy:
    """Forwards every request to ``upstream`` and records (arrival monotonic time, method, path)."""

    def __init__(self, upstream: str) -> None:
        self.arrivals: list[tuple[float, str, str]] = []
        lock = threading.Lock()
        http = httpx.Client(timeout=30)
        arrivals = self.arrivals

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                return

            def forward(self) -> None:
                arrived = time.monotonic()
                with lock:
                    arrivals.append((arrived, self.command, self.path))
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {name: value for name, value in self.headers.items() if name.lower() not in HOP_BY_HOP}
                answer = http.request(self.command, upstream + self.path, content=body, headers=headers)
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = forward

        self._http = http
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    def calls(self, path_part: str) -> list[float]:
        return [at for at, _, path in list(self.arrivals) if path_part in path.lower()]

    def busiest_second(self) -> int:
        """The most requests that arrived within any one-second window."""
        times = sorted(at for at, _, _ in list(self.arrivals))
        most = start = 0
        for end, at in enumerate(times):
            while times[start] <= at - 1.0:
                start += 1
            most = max(most, end - start + 1)
        return most

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
        self._http.close()

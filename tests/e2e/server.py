"""The browser tests' live server: pytest-django's, whose stop also ends the threads serving requests.

Django's live server answers every HTTP connection in a daemon thread of its own, and that thread
keeps the connection open between requests (HTTP/1.1 keep-alive: Chromium, and the process's pooled
httpx client calling the in-process sandbox). With ``CONN_MAX_AGE`` set, the thread also keeps its
database connection between requests; it closes it only once its HTTP connection ends. Stopping
the server closes the listening socket, not those HTTP connections, and waits for none of the
threads: each went on holding a session on the test database, and destroying the database at the
end of the run failed ("database ... is being accessed by other users").
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from django.core.servers.basehttp import ThreadedWSGIServer
from pytest_django.live_server_helper import LiveServer as PytestDjangoLiveServer

# Long enough for a request still running at the stop (a page's poll, a call to the sandbox with
# the Connex client's 20 s read timeout) to finish on a loaded machine.
REQUEST_THREADS_STOP_SECONDS = 30


class ClosingWSGIServer(ThreadedWSGIServer):
    """Django's threaded WSGI server, whose ``server_close`` also ends every request thread.

    Each thread closes its database connections as it ends (``ThreadedWSGIServer.close_request``).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._requests: dict[socket.socket, threading.Thread] = {}
        self._requests_lock = threading.Lock()
        self.stuck_request_threads: list[str] = []

    def request_threads(self) -> list[threading.Thread]:
        """The threads serving an HTTP connection now (kept-alive ones between their requests too)."""
        with self._requests_lock:
            return list(self._requests.values())

    def process_request(self, request: socket.socket, client_address) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"live server request from {client_address[0]}:{client_address[1]}",
            daemon=True,
        )
        with self._requests_lock:
            self._requests[request] = thread
        thread.start()

    def process_request_thread(self, request: socket.socket, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._requests_lock:
                self._requests.pop(request, None)

    def server_close(self) -> None:
        super().server_close()
        with self._requests_lock:
            open_requests = dict(self._requests)
        # The read side only: a request being answered still gets its answer, and the thread then
        # reads the end of its connection instead of waiting for the client's next request.
        for request in open_requests:
            with contextlib.suppress(OSError):
                request.shutdown(socket.SHUT_RD)
        deadline = time.monotonic() + REQUEST_THREADS_STOP_SECONDS
        for thread in open_requests.values():
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self.stuck_request_threads = sorted(thread.name for thread in open_requests.values() if thread.is_alive())


class LiveServer(PytestDjangoLiveServer):
    """pytest-django's ``LiveServer`` on a ``ClosingWSGIServer``: ``stop`` leaves no request thread behind."""

    def __init__(self, addr: str) -> None:
        super().__init__(addr, start=False)
        self.thread.server_class = ClosingWSGIServer
        self.start()

    def stop(self) -> None:
        super().stop()
        httpd = getattr(self.thread, "httpd", None)
        stuck = httpd.stuck_request_threads if httpd is not None else []
        if stuck:
            raise RuntimeError(
                f"The live server stopped, yet {len(stuck)} of its request threads were still running "
                f"{REQUEST_THREADS_STOP_SECONDS} s later, each with its database connections: {', '.join(stuck)}"
            )

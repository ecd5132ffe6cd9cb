"""The browser tests' live server leaves nothing connected to the test database once stopped (tests/e2e/server.py)."""

import threading

import httpx
import pytest
from django.db.backends.signals import connection_created

from tests.e2e.server import LiveServer


@pytest.mark.django_db(transaction=True)
def test_stopping_the_server_ends_a_kept_alive_request_thread_and_closes_its_database_connection():
    server = LiveServer("localhost")
    opened = []

    def record(sender, connection, **kwargs) -> None:
        opened.append((threading.current_thread(), connection))

    connection_created.connect(record)
    try:
        with httpx.Client(base_url=server.url) as client:
            # /healthz queries the database; the client then keeps its HTTP connection open.
            assert client.get("/healthz").status_code == 200
            [request_thread] = server.thread.httpd.request_threads()
            server.stop()
            assert not request_thread.is_alive()
    finally:
        connection_created.disconnect(record)
    thread_connections = [connection for thread, connection in opened if thread is request_thread]
    # On in-memory SQLite the server's threads share the test's connection; otherwise the thread opened
    # its own, kept it between requests (CONN_MAX_AGE), and closed it as it ended.
    assert bool(thread_connections) == (not server.thread.connections_override)
    assert [connection.alias for connection in thread_connections if connection.connection is not None] == []

"""The project's WSGI app for raw WSGI clients in tests (schemathesis, httpx.WSGITransport)."""

from django.core.signals import request_finished, request_started
from django.db import close_old_connections


class InTestWSGIApp:
    """Like Django's test Client, keeps close_old_connections off the request signals.

    A request handled inside a test must not close the connection that holds the test's
    transaction: PostgreSQL then loses it mid-test, while SQLite's in-memory test
    database ignores the close and hides the problem.
    """

    def __call__(self, environ, start_response):
        from connexportal.wsgi import application

        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = application(environ, start_response)
            try:
                return [b"".join(response)]
            finally:
                response.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


in_test_wsgi_app = InTestWSGIApp()

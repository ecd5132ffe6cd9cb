"""The sandbox as its own origin: a WSGI handler whose root URLconf is the sandbox's.

Django's usual middleware still runs; only URL resolution differs, so
``http://127.0.0.1:8100/api/account/login`` reaches the same view as
``/sandbox/api/account/login`` on the portal.
"""

from django.core.handlers.wsgi import WSGIHandler, WSGIRequest


class SandboxRequest(WSGIRequest):
    # BaseHandler resolves a request with its own ``urlconf`` when it has one.
    urlconf = "connexportal.sandbox.urls"


class SandboxWSGIHandler(WSGIHandler):
    request_class = SandboxRequest

"""WSGI entry point for a standalone sandbox under a production server.

    gunicorn connexportal.sandbox.wsgi:application --bind 0.0.0.0:8100 --workers 2

Runs progress from timestamps and faults live in the database, so several workers
behave as one sandbox.
"""

import os

import django

from connexportal.sandbox.standalone import SandboxWSGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "connexportal.settings")
django.setup(set_prefix=False)
application = SandboxWSGIHandler()

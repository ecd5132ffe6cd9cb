"""The sandbox's URLconf: mounted under ``sandbox/`` by the portal, or the root URLconf of ``runsandbox``.

One catch-all pattern: views.serve matches Connex's paths itself, case-insensitively.
"""

from django.urls import re_path

from connexportal.sandbox import views

app_name = "sandbox"
urlpatterns = [re_path(r"^(?P<path>.*)$", views.serve, name="api")]

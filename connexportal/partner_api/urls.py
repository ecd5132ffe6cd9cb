from django.urls import path, re_path
from django.views.decorators.http import require_safe

from connexportal.partner_api import views
from connexportal.partner_api.api import api
from connexportal.partner_api.http import method_problems, partner_api_view, wrapped_patterns

app_name = "api"

# ninja's routes (each wrapped for the API's headers and problem 405s), then the human docs and the catch-all.
urlpatterns = [
    *wrapped_patterns(api.urls[0]),
    path("docs", method_problems(require_safe(views.docs)), name="docs"),
    # Anything else under /api/v1/ answers in JSON too, never with the site's HTML 404 page.
    re_path(r"^(?P<path>.*)$", partner_api_view(views.not_found), name="not-found"),
]

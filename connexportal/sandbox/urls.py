"""The sandbox's routes, mounted under ``sandbox/`` by the portal or at the root by ``runsandbox``."""

from django.http import JsonResponse
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def not_found(request, path):
    return JsonResponse(
        {"title": "Not Found", "status": 404, "detail": f"No Connex route at {path!r}."},
        status=404,
        content_type="application/problem+json",
    )


urlpatterns = [re_path(r"^(?P<path>.*)$", not_found)]

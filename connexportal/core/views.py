from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from connexportal.core.health import CHECKS


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and readiness in one: 200 when every dependency answers, else 503 with reasons."""
    checks = {}
    healthy = True
    for name, check in CHECKS.items():
        reason = check()
        checks[name] = {"status": "ok"} if reason is None else {"status": "error", "reason": reason}
        healthy = healthy and reason is None
    return JsonResponse({"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """A merchant's home is their connections, a partner user's the partner console; everyone else
    sees the welcome page."""
    if request.user.is_authenticated and request.user.merchant_id:
        return redirect("portal:connections")
    if request.user.is_authenticated and request.user.partner_id:
        return redirect("partner:dashboard")
    return render(request, "core/home.html")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 400 page, except for a form body over DATA_UPLOAD_MAX_MEMORY_SIZE: that one is
    a 413 saying what happened (Django raises it as a 400 wherever request.POST is first read)."""
    if isinstance(exception, RequestDataTooBig):
        context = {"limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
        return render(request, "core/request_too_large.html", context, status=413)
    return defaults.bad_request(request, exception)

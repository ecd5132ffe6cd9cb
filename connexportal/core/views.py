from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
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
    """A merchant's home is their connections; everyone else sees the welcome page."""
    if request.user.is_authenticated and request.user.merchant_id:
        return redirect("portal:connections")
    return render(request, "core/home.html")

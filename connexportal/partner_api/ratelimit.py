"""A per-key request budget in fixed one-minute windows, counted in the shared cache.

``cache.add`` then ``cache.incr`` is atomic on Redis (SET NX, INCR) and on the
local-memory cache (one lock), so concurrent workers never lose a count.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from ninja.throttling import BaseThrottle

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset_seconds: int
    exceeded: bool

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
            "RateLimit-Policy": f"{self.limit};w={WINDOW_SECONDS}",
        }


def rate_limit_hit(*, key_id: int) -> RateLimitState:
    """Count one request for the API key ``key_id`` and say whether it is within the budget."""
    limit = settings.PARTNER_API_RATE_LIMIT
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    reset_seconds = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
    cache_key = f"partner-api:rate:{key_id}:{window}"
    # Outlive the window a little, so a slow incr never meets an already expired key.
    cache.add(cache_key, 0, timeout=WINDOW_SECONDS * 2)
    try:
        count = cache.incr(cache_key)
    except ValueError:
        # Evicted between add and incr (a full cache): start the window again rather than fail the call.
        cache.set(cache_key, 1, timeout=WINDOW_SECONDS * 2)
        count = 1
    return RateLimitState(
        limit=limit, remaining=max(0, limit - count), reset_seconds=reset_seconds, exceeded=count > limit
    )


class PartnerKeyRateLimit(BaseThrottle):
    """The budget as a ninja throttle, checked after the key: the state is kept on the request for its headers."""

    def allow_request(self, request: HttpRequest) -> bool:
        request.partner_api_rate = rate_limit_hit(key_id=request.auth.pk)
        return not request.partner_api_rate.exceeded

    def wait(self) -> None:
        # The 429 problem (api.py) takes its Retry-After from the request's state instead.
        return None

"""``Idempotency-Key`` on creating requests: a retried request gets the first answer, never a duplicate.

The first request with a key claims it in the cache (an atomic add) while it
runs; its successful answer is kept for 24 hours and replayed for the same
key and the same request. Errors are not kept, so a failed request can be
retried with the same key. Keys are per partner. Endpoints take part with the
``idempotent`` decorator.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac
from ninja import Status

from connexportal.partner_api.problems import (
    IDEMPOTENCY_KEY_IN_USE,
    IDEMPOTENCY_KEY_REUSED,
    MALFORMED_REQUEST,
    ApiProblem,
)

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
KEPT_FOR = dt.timedelta(hours=24)
# A claim outlives any request; if its worker dies, the key frees itself after this.
CLAIM_SECONDS = 60

Outcome = tuple[int, dict[str, Any]]


def idempotency_key(request: HttpRequest) -> str | None:
    """The request's Idempotency-Key, if it sent one; a malformed one is a 400."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise ApiProblem(
            MALFORMED_REQUEST,
            f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} printable ASCII characters, for example a UUID.",
        )
    return key


def fingerprint(request: HttpRequest, data: dict[str, Any]) -> str:
    # Keyed, because the request may carry a password; canonical, so that formatting does not matter.
    canonical = json.dumps([request.method, request.path, data], sort_keys=True, separators=(",", ":"))
    return salted_hmac("partner-api-idempotency", canonical, algorithm="sha256").hexdigest()


def run_once(
    *, partner_id: int, key: str, request_fingerprint: str, action: Callable[[], Outcome]
) -> tuple[Outcome, bool]:
    """Run ``action`` once per (partner, key); returns its outcome and whether it is a replay."""
    cache_key = f"partner-api:idempotency:{partner_id}:{hashlib.sha256(key.encode()).hexdigest()}"
    kept = _claim(cache_key, request_fingerprint)
    if kept is not None:
        return kept, True
    try:
        status, body = action()
    except BaseException:
        cache.delete(cache_key)
        raise
    outcome = {"state": "done", "fingerprint": request_fingerprint, "status": status, "body": body}
    cache.set(cache_key, outcome, timeout=int(KEPT_FOR.total_seconds()))
    return (status, body), False


def _claim(cache_key: str, request_fingerprint: str) -> Outcome | None:
    """None when this request now holds the key, else the outcome kept for it."""
    in_use = ApiProblem(
        IDEMPOTENCY_KEY_IN_USE,
        f"A request with this {HEADER} is still running. Retry when it has finished.",
        headers={"Retry-After": "1"},
    )
    # Two tries: a kept outcome can expire between our add and our get.
    for _attempt in range(2):
        if cache.add(cache_key, {"state": "running", "fingerprint": request_fingerprint}, timeout=CLAIM_SECONDS):
            return None
        kept = cache.get(cache_key)
        if kept is None:
            continue
        if kept["fingerprint"] != request_fingerprint:
            raise ApiProblem(
                IDEMPOTENCY_KEY_REUSED,
                f"This {HEADER} was already used for a different request. Use a new key for a new request.",
            )
        if kept["state"] == "running":
            raise in_use
        return kept["status"], kept["body"]
    raise in_use


def idempotent(view: Callable[..., Status]) -> Callable[..., Status]:
    """A creating ninja view run once per Idempotency-Key: a retry gets its status, body and Location again.

    The view takes ninja's ``response`` (the answer being built) and returns a ``Status``.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, response: HttpResponse, **kwargs: Any) -> Status:
        key = idempotency_key(request)
        if key is None:
            return view(request, *args, response=response, **kwargs)

        def action() -> Outcome:
            result = view(request, *args, response=response, **kwargs)
            body = result.value.model_dump(mode="json")
            return result.status_code, {"body": body, "location": response.get("Location")}

        (status, kept), replayed = run_once(
            partner_id=request.auth.partner_id,
            key=key,
            request_fingerprint=fingerprint(request, request.partner_api_json),
            action=action,
        )
        if kept["location"]:
            response["Location"] = kept["location"]
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return Status(status, kept["body"])

    return wrapper

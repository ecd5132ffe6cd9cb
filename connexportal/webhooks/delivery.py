"""Webhook delivery: sign an event, POST it to the partner, log the attempt, schedule the next one.

Delivery is at least once: a timeout may hide a request the partner did receive, so
partners deduplicate on ``Connex-Webhook-Id`` (the event id, the same on every attempt).
Within the portal an attempt row is sent at most once, however often the worker runs its
task: the task first moves the row from pending to sending with a compare-and-set.

Signature: ``Connex-Webhook-Signature: v1=<hex>`` where hex is HMAC-SHA256 keyed with the
partner's webhook secret over ``f"{timestamp}.".encode() + body`` (the timestamp is the
``Connex-Webhook-Timestamp`` header, unix seconds; the body is the exact bytes sent).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx
from django.db import transaction
from django.tasks import task
from django.utils import timezone

from connexportal.accounts.crypto import SecretUnreadable
from connexportal.webhooks.models import DeliveryState, WebhookDelivery, WebhookEvent
from connexportal.webhooks.targets import GuardedTransport, TargetRefused, check_url

logger = logging.getLogger(__name__)

HEADER_ID = "Connex-Webhook-Id"
HEADER_TIMESTAMP = "Connex-Webhook-Timestamp"
HEADER_SIGNATURE = "Connex-Webhook-Signature"
SIGNATURE_VERSION = "v1"
USER_AGENT = "ConnexPortal-Webhooks/1"

# The wait before attempts 2 to 6; the first attempt goes out as soon as a worker is free.
RETRY_DELAYS = (
    dt.timedelta(seconds=10),
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# Each wait is stretched or shrunk by up to 10 %, so a partner's outage does not end in a stampede.
JITTER = 0.1
# A Retry-After longer than this is read as this: a partner's typo must not park its events for days.
RETRY_AFTER_LIMIT = dt.timedelta(hours=6)
TIMEOUT = httpx.Timeout(10.0, connect=3.0)
# Only the start of a response is read and kept: enough to show the partner's error message,
# too little to make the log a way to read whatever answered.
EXCERPT_BYTES = 1024
EXCERPT_CHARS = 200
# Far longer than any request can take (TIMEOUT, per phase): a row sending for this long lost its worker.
ABANDONED_AFTER = dt.timedelta(minutes=5)
RETRYABLE_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)

_override_client: httpx.Client | None = None


def _new_client(transport: httpx.BaseTransport | None) -> httpx.Client:
    # Redirects are never followed: a signed event goes to the registered URL or nowhere (and a
    # redirect's target would escape the address checks). Proxy variables are ignored likewise.
    return httpx.Client(
        timeout=TIMEOUT,
        follow_redirects=False,
        trust_env=False,
        transport=transport or GuardedTransport(),
        headers={"User-Agent": USER_AGENT},
    )


@functools.cache
def _shared_client() -> httpx.Client:
    return _new_client(None)


@contextmanager
def transport_override(transport: httpx.BaseTransport) -> Iterator[None]:
    """Send every webhook through ``transport`` (tests: httpx.MockTransport, or a GuardedTransport
    over a recording network backend)."""
    global _override_client
    previous, _override_client = _override_client, _new_client(transport)
    try:
        yield
    finally:
        _override_client.close()
        _override_client = previous


def _http() -> httpx.Client:
    return _override_client or _shared_client()


# --- Signing -----------------------------------------------------------------------------


def event_body(event: WebhookEvent) -> bytes:
    """The JSON body of ``event``: compact and key-sorted, so every attempt sends the same bytes."""
    return json.dumps(event.payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


# --- Scheduling --------------------------------------------------------------------------


def retry_delay(attempt: int, retry_after: dt.timedelta | None = None) -> dt.timedelta:
    """How long to wait after failed attempt number ``attempt`` (1-based) before the next one."""
    delay = RETRY_DELAYS[attempt - 1] * random.uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_LIMIT))
    return delay


def delivery_schedule(*, event: WebhookEvent, attempt: int, at: dt.datetime) -> WebhookDelivery:
    """Create attempt number ``attempt`` of ``event`` and queue its task for ``at``."""
    delivery = WebhookDelivery.objects.create(
        event=event, partner=event.partner, attempt=attempt, url=event.partner.webhook_url, scheduled_at=at
    )
    _enqueue(delivery.pk, at)
    return delivery


def _enqueue(delivery_id: int, at: dt.datetime) -> None:
    # The database backend stores the task in the current transaction: it runs only if the
    # attempt row it names was committed with it.
    if at > timezone.now():
        deliver.using(run_after=at).enqueue(delivery_id)
    else:
        deliver.enqueue(delivery_id)


def delivery_retry_now(*, event: WebhookEvent) -> bool:
    """Send ``event`` again at once. False when it was delivered, an attempt is in flight,
    or its partner has no webhook URL.

    A pending attempt is brought forward (its own, later task then finds it already sent);
    after a final failure a new attempt follows the last one. An attempt still "sending"
    long after any request could have ended lost its worker mid-send: it is closed as
    failed and followed by a new attempt.
    """
    if event.partner is None or not event.partner.webhook_url:
        return False
    now = timezone.now()
    with transaction.atomic():
        attempts = list(WebhookDelivery.objects.select_for_update().filter(event=event).order_by("attempt"))
        last = attempts[-1] if attempts else None
        if last is not None and last.state == DeliveryState.SENDING and last.started_at < now - ABANDONED_AFTER:
            last.state, last.finished_at = DeliveryState.FAILED, now
            last.error = "The worker stopped while sending; whether the partner received it is unknown."
            last.save(update_fields=["state", "finished_at", "error"])
        if last is not None and last.state in (DeliveryState.SUCCEEDED, DeliveryState.SENDING):
            return False
        if last is not None and last.state == DeliveryState.PENDING:
            WebhookDelivery.objects.filter(pk=last.pk).update(scheduled_at=now)
            WebhookDelivery.objects.filter(event=event, attempt=last.attempt - 1).update(next_retry_at=now)
            _enqueue(last.pk, now)
        else:
            delivery_schedule(event=event, attempt=last.attempt + 1 if last else 1, at=now)
    return True


# --- Sending -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    retryable: bool = False
    refused: bool = False
    status_code: int | None = None
    excerpt: str = ""
    error: str = ""
    duration_ms: int | None = None
    retry_after: dt.timedelta | None = None


@task()
def deliver(delivery_id: int) -> str:
    """Send one attempt (a worker task); returns the attempt's final state."""
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, state=DeliveryState.PENDING).update(
        state=DeliveryState.SENDING, started_at=timezone.now()
    )
    if not claimed:
        return "not pending"
    delivery = WebhookDelivery.objects.select_related("event", "partner").get(pk=delivery_id)
    outcome = _attempt(delivery)
    _record(delivery, outcome)
    return delivery.state


def _attempt(delivery: WebhookDelivery) -> Outcome:
    partner = delivery.partner
    url = partner.webhook_url
    if not partner.is_active:
        return Outcome(succeeded=False, error="The partner is inactive; nothing was sent.")
    if not url:
        return Outcome(succeeded=False, error="The partner has no webhook URL any more; nothing was sent.")
    try:
        check_url(url)
    except TargetRefused as exc:
        return _refused(exc)
    try:
        secret = partner.get_webhook_secret()
    except SecretUnreadable:
        return Outcome(succeeded=False, error="The signing secret cannot be decrypted with FIELD_ENCRYPTION_KEYS.")
    if not secret:
        return Outcome(succeeded=False, error="The partner has no webhook signing secret; nothing was sent.")
    delivery.url = url
    body = event_body(delivery.event)
    timestamp = int(timezone.now().timestamp())
    headers = {
        "Content-Type": "application/json",
        HEADER_ID: str(delivery.event.pk),
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: sign(secret, timestamp, body),
    }
    return _post(url, headers, body)


def _post(url: str, headers: dict[str, str], body: bytes) -> Outcome:
    started = time.monotonic()
    try:
        with _http().stream("POST", url, content=body, headers=headers) as response:
            excerpt = _excerpt(response)
    except TargetRefused as exc:
        return _refused(exc)
    except RETRYABLE_ERRORS as exc:
        return Outcome(succeeded=False, retryable=True, error=_describe(exc), duration_ms=_since(started))
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return Outcome(succeeded=False, error=_describe(exc), duration_ms=_since(started))
    status = response.status_code
    retryable = status == 429 or status >= 500
    return Outcome(
        succeeded=200 <= status < 300,
        retryable=retryable,
        status_code=status,
        excerpt=excerpt,
        error="" if status < 300 else _status_error(response),
        duration_ms=_since(started),
        retry_after=_retry_after(response.headers.get("Retry-After")) if retryable else None,
    )


def _refused(exc: TargetRefused) -> Outcome:
    # Not retried: the address policy gives the same answer next time, and a name whose answers
    # change between checks is the attack this refusal stops.
    return Outcome(succeeded=False, refused=True, error=f"{exc} Nothing was sent.")


def _record(delivery: WebhookDelivery, outcome: Outcome) -> None:
    now = timezone.now()
    if outcome.succeeded:
        delivery.state = DeliveryState.SUCCEEDED
    else:
        delivery.state = DeliveryState.REFUSED if outcome.refused else DeliveryState.FAILED
    delivery.finished_at = now
    delivery.status_code = outcome.status_code
    delivery.response_excerpt = outcome.excerpt
    delivery.error = outcome.error
    delivery.duration_ms = outcome.duration_ms
    if outcome.retryable and delivery.attempt < MAX_ATTEMPTS:
        delivery.next_retry_at = now + retry_delay(delivery.attempt, outcome.retry_after)
    with transaction.atomic():
        delivery.save(
            update_fields=[
                "state",
                "url",
                "finished_at",
                "status_code",
                "response_excerpt",
                "error",
                "duration_ms",
                "next_retry_at",
            ]
        )
        if delivery.next_retry_at is not None:
            delivery_schedule(event=delivery.event, attempt=delivery.attempt + 1, at=delivery.next_retry_at)
    logger.info(
        "webhook %s event=%s partner=%s host=%s attempt=%s status=%s ms=%s%s",
        delivery.state,
        delivery.event.pk,
        delivery.partner_id,
        urlsplit(delivery.url).hostname,
        delivery.attempt,
        outcome.status_code,
        outcome.duration_ms,
        f" retry_at={delivery.next_retry_at.isoformat()}" if delivery.next_retry_at else "",
    )


def _excerpt(response: httpx.Response) -> str:
    received = b""
    for chunk in response.iter_bytes():
        received += chunk
        if len(received) >= EXCERPT_BYTES:
            break
    return received[:EXCERPT_BYTES].decode("utf-8", errors="replace")[:EXCERPT_CHARS]


def _status_error(response: httpx.Response) -> str:
    if response.is_redirect:
        return f"HTTP {response.status_code}: redirects are not followed; register the final URL."
    if response.status_code == 429 or response.status_code >= 500:
        return f"HTTP {response.status_code}"
    return f"HTTP {response.status_code}: the partner refused the event; it is not retried."


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _retry_after(value: str | None) -> dt.timedelta | None:
    """Retry-After as a delay: delta-seconds or an HTTP date (RFC 9110 10.2.3); None when unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return dt.timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(dt.timedelta(0), when - timezone.now())

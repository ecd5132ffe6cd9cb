"""Webhook delivery: sign an event, POST it to an endpoint, log the attempt, schedule the next one.

Delivery is at least once: a timeout may hide a request the partner did receive, so
partners deduplicate on ``webhook-id`` (the event id, the same on every attempt and for
every endpoint). Within the portal an attempt row is sent at most once, however often the
worker runs its task: the task first moves the row from pending to sending with a
compare-and-set before the request goes out.

Signing follows Standard Webhooks (https://www.standardwebhooks.com/), with its own package:
``webhook-id``, ``webhook-timestamp`` (unix seconds) and ``webhook-signature``, which is
``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` keyed with the endpoint's ``whsec_``
secret; during a rotation's grace period it holds two signatures, space-separated, one per
secret. Partners verify with a Standard Webhooks library in their own language.
"""

from __future__ import annotations

import datetime as dt
import functools
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
from standardwebhooks import Webhook

from connexportal.accounts.crypto import SecretUnreadable
from connexportal.webhooks.models import DeliveryState, WebhookDelivery, WebhookEndpoint, WebhookEvent
from connexportal.webhooks.targets import GuardedTransport, TargetRefused, check_url

logger = logging.getLogger(__name__)

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"
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


def signature_headers(*, msg_id: str, timestamp: int, body: bytes, secrets: list[str]) -> dict[str, str]:
    """The Standard Webhooks headers for ``body``: one ``v1,`` signature per secret, space-separated."""
    when = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
    text = body.decode("utf-8")
    return {
        HEADER_ID: msg_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: " ".join(Webhook(secret).sign(msg_id, when, text) for secret in secrets),
    }


# --- Scheduling --------------------------------------------------------------------------


def retry_delay(attempt: int, retry_after: dt.timedelta | None = None) -> dt.timedelta:
    """How long to wait after failed attempt number ``attempt`` (1-based) before the next one."""
    delay = RETRY_DELAYS[attempt - 1] * random.uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_LIMIT))
    return delay


def delivery_schedule(
    *, event: WebhookEvent, endpoint: WebhookEndpoint, attempt: int, at: dt.datetime
) -> WebhookDelivery:
    """Create attempt number ``attempt`` of ``event`` to ``endpoint`` and queue its task for ``at``."""
    delivery = WebhookDelivery.objects.create(
        event=event, partner=event.partner, endpoint=endpoint, attempt=attempt, url=endpoint.url, scheduled_at=at
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


def delivery_retry_now(*, event: WebhookEvent, endpoint: WebhookEndpoint | None, redeliver: bool = False) -> bool:
    """Send ``event`` to ``endpoint`` again at once. False when it was delivered (unless
    ``redeliver``), an attempt is in flight, or the endpoint is gone.

    A pending attempt is brought forward (its own, later task then finds it already sent);
    after a final failure, or a success when redelivering, a new attempt follows the last one.
    An attempt still "sending" long after any request could have ended lost its worker
    mid-send: it is closed as failed and followed by a new attempt.
    """
    if endpoint is None or event.partner_id != endpoint.partner_id:
        return False
    now = timezone.now()
    with transaction.atomic():
        attempts = list(
            WebhookDelivery.objects.select_for_update().filter(event=event, endpoint=endpoint).order_by("attempt")
        )
        last = attempts[-1] if attempts else None
        if last is not None and last.state == DeliveryState.SENDING and last.started_at < now - ABANDONED_AFTER:
            last.state, last.finished_at = DeliveryState.FAILED, now
            last.error = "The worker stopped while sending; whether the partner received it is unknown."
            last.save(update_fields=["state", "finished_at", "error"])
        if last is not None and last.state == DeliveryState.SENDING:
            return False
        if last is not None and last.state == DeliveryState.SUCCEEDED and not redeliver:
            return False
        if last is not None and last.state == DeliveryState.PENDING:
            WebhookDelivery.objects.filter(pk=last.pk).update(scheduled_at=now)
            WebhookDelivery.objects.filter(event=event, endpoint=endpoint, attempt=last.attempt - 1).update(
                next_retry_at=now
            )
            _enqueue(last.pk, now)
        else:
            delivery_schedule(event=event, endpoint=endpoint, attempt=last.attempt + 1 if last else 1, at=now)
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
    delivery = WebhookDelivery.objects.select_related("event", "partner", "endpoint").get(pk=delivery_id)
    outcome = _attempt(delivery)
    _record(delivery, outcome)
    return delivery.state


def _attempt(delivery: WebhookDelivery) -> Outcome:
    endpoint = delivery.endpoint
    if not delivery.partner.is_active:
        return Outcome(succeeded=False, error="The partner is inactive; nothing was sent.")
    if endpoint is None:
        return Outcome(succeeded=False, error="The endpoint was deleted; nothing was sent.")
    if not endpoint.is_active:
        return Outcome(succeeded=False, error="The endpoint is disabled; nothing was sent.")
    url = endpoint.url
    try:
        check_url(url)
    except TargetRefused as exc:
        return _refused(exc)
    now = timezone.now()
    try:
        secrets = endpoint.signing_secrets(now=now)
    except SecretUnreadable:
        return Outcome(succeeded=False, error="The signing secret cannot be decrypted with FIELD_ENCRYPTION_KEYS.")
    delivery.url = url
    body = event_body(delivery.event)
    headers = {
        "Content-Type": "application/json",
        **signature_headers(msg_id=str(delivery.event.pk), timestamp=int(now.timestamp()), body=body, secrets=secrets),
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
    # An endpoint deleted while this attempt was out gets no more attempts.
    endpoint_remains = WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).exists()
    if outcome.retryable and delivery.attempt < MAX_ATTEMPTS and endpoint_remains:
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
            delivery_schedule(
                event=delivery.event,
                endpoint=delivery.endpoint,
                attempt=delivery.attempt + 1,
                at=delivery.next_retry_at,
            )
    logger.info(
        "webhook %s event=%s partner=%s endpoint=%s host=%s attempt=%s status=%s ms=%s%s",
        delivery.state,
        delivery.event.pk,
        delivery.partner_id,
        delivery.endpoint_id,
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

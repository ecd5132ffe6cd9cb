"""Background work for the merchant pages: following a sync run to its end for the webhook.

Run now answers as soon as Connex has queued the run; how it ends shows up later in the
connection list. ``watch_run`` looks there every few seconds, as a worker task that queues
its own next look (never sleeping in a worker), and emits sync_finished or sync_failed
once. The browser's own polling is separate and emits nothing here.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.tasks import task
from django.utils import timezone

from connexportal import events
from connexportal.accounts.models import Merchant
from connexportal.connex import ConnexAuthError, ConnexError
from connexportal.connex.models import RunLog
from connexportal.portal import upstream

logger = logging.getLogger(__name__)

WATCH_INTERVAL = dt.timedelta(seconds=5)
# Runs normally end within minutes; past this the watch gives up and no outcome is sent.
WATCH_LIMIT = dt.timedelta(minutes=30)
RUN_OUTCOMES = {"completed": events.EventType.SYNC_FINISHED, "failed": events.EventType.SYNC_FAILED}


def run_dedupe_key(merchant_id: int, connection_id: int, run_id: int, what: str) -> str:
    return f"run:{merchant_id}:{connection_id}:{run_id}:{what}"


def run_watch_start(*, merchant: Merchant, connection_id: int, run_id: int) -> None:
    """Follow the run in the background, when the merchant's partner will hear how it ended."""
    if not events.webhooks_enabled(merchant):
        return
    now = timezone.now()
    watch_run.using(run_after=now + WATCH_INTERVAL).enqueue(
        merchant_id=merchant.pk, connection_id=connection_id, run_id=run_id, until=(now + WATCH_LIMIT).isoformat()
    )


@task()
def watch_run(*, merchant_id: int, connection_id: int, run_id: int, until: str) -> str:
    """One look at the run (a worker task): emit its outcome, or look again in WATCH_INTERVAL."""
    merchant = Merchant.objects.select_related("partner", "connex_account").filter(pk=merchant_id).first()
    if merchant is None:
        return "merchant deleted"
    try:
        run = _find_run(merchant, connection_id, run_id)
    except upstream.AccountNotConfigured as exc:
        logger.warning("run watch m%s run %s stopped: %s", merchant_id, run_id, exc)
        return "no account"
    except ConnexAuthError as exc:
        logger.warning("run watch m%s run %s stopped: %s", merchant_id, run_id, exc)
        return "login refused"
    except ConnexError as exc:
        # Connex hiccups while a run goes on; the next look may well succeed.
        logger.warning("run watch m%s run %s: %s", merchant_id, run_id, exc)
        run = None
    outcome = RUN_OUTCOMES.get((run.status or "").lower()) if run is not None else None
    if outcome is not None:
        events.emit(
            outcome,
            merchant=merchant,
            data=_run_data(connection_id, run),
            dedupe_key=run_dedupe_key(merchant_id, connection_id, run_id, "outcome"),
        )
        return outcome.value
    now = timezone.now()
    if now >= dt.datetime.fromisoformat(until):
        logger.warning("run watch m%s run %s gave up: still not finished after %s", merchant_id, run_id, WATCH_LIMIT)
        return "gave up"
    watch_run.using(run_after=now + WATCH_INTERVAL).enqueue(
        merchant_id=merchant_id, connection_id=connection_id, run_id=run_id, until=until
    )
    return "watching"


def _find_run(merchant: Merchant, connection_id: int, run_id: int) -> RunLog | None:
    client = upstream.client_for(getattr(merchant, "connex_account", None), background=True)
    for connection in client.list_connections():
        if connection.id != connection_id:
            continue
        for scheduled_task in connection.scheduled_tasks:
            for run in scheduled_task.run_logs:
                if run.id == run_id:
                    return run
    return None


def _run_data(connection_id: int, run: RunLog) -> dict:
    return {
        "connection_id": connection_id,
        "run_id": run.id,
        "status": run.status,
        "orders_downloaded": run.orders_downloaded,
        "orders_skipped": run.orders_skipped,
        "started_at": _timestamp(run.started_utc),
        "finished_at": _timestamp(run.finished_utc),
        "message": run.message or "",
    }


def _timestamp(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None

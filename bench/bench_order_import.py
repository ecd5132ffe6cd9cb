"""Benchmark of the order import job: 10,000 orders into a slow, rate-limited Connex, then a faulty one.

Starts the Connex sandbox as its own process (gunicorn on ``connexportal.sandbox.wsgi``, a throwaway
SQLite database, 50 ms on every request via CONNEX_SANDBOX_LATENCY_MS). This process is the worker:
it runs the import job (``run_order_import``, slice after slice, as ``manage.py db_worker`` would)
on its own throwaway SQLite database, with Connex's 4 requests/s per account on (CONNEX_RATE_LIMIT).

(a) Clean run: 10,000 valid orders (100 batches, each on its own day so one listing checks it).
    Prints the ideal (the Connex calls the job made, at 4 per second), the actual time and their
    ratio. Target: actual / ideal <= 1.5.
(b) Faulty run, on a fresh sandbox: 20 % of createorders calls faulted, half ``commit_fail`` (stored,
    then a 503) and half ``commit_late`` (a 503 at once, the batch visible 3 s later), and the
    sandbox accepting duplicate order numbers (CONNEX_SANDBOX_ACCEPT_DUPLICATES), so any blind
    resend would show. Checks: exactly 10,000 orders in Connex, 0 duplicates, every order's fate
    reported. Prints the time.

Takes about three minutes; ``--orders`` for a smaller run, ``--help`` for options.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sqlite3
import sys
import time
from pathlib import Path

import httpx

PROJECT_DIR = Path(__file__).resolve().parent.parent
for path in (PROJECT_DIR, Path(__file__).resolve().parent):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from bench_portal import (  # noqa: E402
    GUNICORN,
    SANDBOX_GUNICORN_ARGS,
    BenchError,
    Server,
    base_env,
    free_port,
    manage,
    run_benchmark,
    start,
    wait_until,
)

RATIO_TARGET = 1.5
LATENCY_MS = 50
RATE_LIMIT = 4.0
FAULTS = "commit_fail=0.1,commit_late=0.1,late_seconds=3,path=createorders"
CONNEX_USERNAME = "qbotest@intuit.com"
PREFIX = "BENCH-"
# The job queues its next slice with a run_after; here the loop just looks again this often.
POLL_SECONDS = 0.5


class CallCounter(logging.Handler):
    """Counts the client's HTTP exchanges (one ``connex call`` line each, retries included)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.calls = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("connex call "):
            self.calls += 1


def start_sandbox(workdir: Path, env: dict[str, str], name: str, extra: dict[str, str]) -> tuple[Server, str]:
    database = workdir / f"{name}.sqlite3"
    sandbox_env = {**env, "DATABASE_URL": f"sqlite:///{database}", "DEBUG": "true", "CONNEX_SANDBOX": "true"}
    manage(["migrate", "--no-input", "-v", "0"], sandbox_env)
    manage(["seed_demo"], sandbox_env)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [*GUNICORN, "connexportal.sandbox.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    command += [*SANDBOX_GUNICORN_ARGS, "--control-socket", str(workdir / f"{name}-gunicorn.ctl")]
    server_env = {**sandbox_env, "CONNEX_SANDBOX_LATENCY_MS": str(LATENCY_MS), "LOG_LEVEL": "WARNING", **extra}
    server = start(name, command, server_env, workdir)
    wait_until(server, lambda: httpx.get(f"{url}/api/users/login", timeout=2).status_code < 500)
    return server, url


def sandbox_orders(workdir: Path, name: str) -> tuple[int, int]:
    """(orders with the bench's prefix, order numbers stored more than once), read from the sandbox's file."""
    with sqlite3.connect(workdir / f"{name}.sqlite3") as db:
        table = "sandbox_order"
        total = db.execute(f"SELECT COUNT(*) FROM {table} WHERE order_number LIKE ?", (PREFIX + "%",)).fetchone()[0]
        repeated = db.execute(
            f"SELECT COUNT(*) FROM (SELECT number_key FROM {table} WHERE order_number LIKE ? "
            "GROUP BY number_key HAVING COUNT(*) > 1)",
            (PREFIX + "%",),
        ).fetchone()[0]
    return total, repeated


def orders(count: int) -> list[dict[str, object]]:
    first_day = dt.date(2025, 1, 1)
    return [
        {
            "OrderNumber": f"{PREFIX}{index:05d}",
            # Each batch of 100 on its own day, 3 days from the next: one listing checks a batch.
            "OrderDate": f"{first_day + dt.timedelta(days=3 * (index // 100))}T12:00:00Z",
            "CustomerName": f"Customer {index}",
            "OrderTotal": 24.5,
            "TotalTax": 1.5,
            "OrderDetails": [{"Sku": "BENCH-SKU", "Quantity": 2, "PriceExclTax": 11.5}],
        }
        for index in range(count)
    ]


def run_import(count: int, sandbox_url: str) -> tuple[float, int, dict[str, int]]:
    """One import through the job; (seconds, Connex calls, fates)."""
    from django.conf import settings
    from django.core.cache import cache
    from django.db.models import Count

    from connexportal.accounts.models import Merchant
    from connexportal.activity.services import Actor
    from connexportal.imports import services
    from connexportal.imports.orders import check_orders
    from connexportal.imports.tasks import run_order_import
    from connexportal.portal.services import connections_list

    settings.CONNEX_ENVIRONMENTS = {**settings.CONNEX_ENVIRONMENTS, "sandbox": sandbox_url}
    cache.clear()
    merchant = Merchant.objects.get(connex_account__username=CONNEX_USERNAME)
    counter = CallCounter()
    logging.getLogger("connexportal.connex").addHandler(counter)
    started = time.monotonic()
    try:
        connection_id = connections_list(merchant=merchant).connections[0].id
        checked = check_orders(orders(count), connection_id=connection_id)
        if checked.invalid:
            raise BenchError(f"the bench's own orders are invalid: {checked.invalid[0].reason}")
        order_import = services.order_import_create(
            merchant=merchant,
            connection_id=connection_id,
            checked=checked,
            source="api",
            actor=Actor.system("bench"),
            start=True,
        )
        while True:
            run_order_import.call(import_id=str(order_import.pk))
            order_import.refresh_from_db()
            if order_import.has_ended:
                break
            time.sleep(POLL_SECONDS)
    finally:
        logging.getLogger("connexportal.connex").removeHandler(counter)
    elapsed = time.monotonic() - started
    fates = dict(order_import.rows.values_list("fate").annotate(n=Count("pk")).values_list("fate", "n"))
    return elapsed, counter.calls, fates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=10_000, help="orders per run (default 10000)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (databases, server logs)")
    options = parser.parse_args()
    return run_benchmark(
        "bench-import-", lambda workdir, servers: run(options.orders, workdir, servers), keep=options.keep
    )


def run(count: int, workdir: Path, servers: list[Server]) -> int:
    env = base_env(workdir)
    print("== setup")
    portal_env = {**env, "DATABASE_URL": f"sqlite:///{workdir / 'portal.sqlite3'}", "DEBUG": "true"}
    manage(["migrate", "--no-input", "-v", "0"], {**portal_env, "CONNEX_SANDBOX": "true"})
    manage(["seed_demo"], {**portal_env, "CONNEX_SANDBOX": "true"})
    clean, clean_url = start_sandbox(workdir, env, "sandbox-clean", {})
    servers.append(clean)
    os.environ.update(
        {
            **portal_env,
            "DEBUG": "false",
            "CONNEX_SANDBOX": "false",
            "CONNEX_SANDBOX_URL": clean_url,
            "CONNEX_RATE_LIMIT": str(RATE_LIMIT),
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "connexportal.settings",
        }
    )
    import django

    django.setup()
    client_log = logging.getLogger("connexportal.connex")
    # Counted, not printed: one line per call would drown the results.
    client_log.setLevel(logging.INFO)
    client_log.propagate = False
    print(f"portal (this process, the worker) and sandbox ({clean_url}) on their own SQLite files")
    print(f"CONNEX_SANDBOX_LATENCY_MS={LATENCY_MS}, CONNEX_RATE_LIMIT={RATE_LIMIT:g}/s, {count} orders")

    print("\n== (a) clean run")
    elapsed, calls, fates = run_import(count, clean_url)
    ideal = calls / RATE_LIMIT
    ratio = elapsed / ideal
    stored, repeated = sandbox_orders(workdir, "sandbox-clean")
    print(f"fates: {fates}; in Connex: {stored}, duplicates: {repeated}")
    print(f"connex calls: {calls}; ideal at {RATE_LIMIT:g}/s: {ideal:.1f}s; actual: {elapsed:.1f}s")
    clean_ok = ratio <= RATIO_TARGET and stored == count and fates == {"created": count}
    print(f"ratio actual/ideal: {ratio:.2f} (target <= {RATIO_TARGET}) {'PASS' if clean_ok else 'FAIL'}")
    clean.stop()

    print("\n== (b) faulty run")
    extra = {"CONNEX_SANDBOX_FAULTS": FAULTS, "CONNEX_SANDBOX_ACCEPT_DUPLICATES": "true"}
    faulty, faulty_url = start_sandbox(workdir, env, "sandbox-faulty", extra)
    servers.append(faulty)
    print(f"CONNEX_SANDBOX_FAULTS={FAULTS}; CONNEX_SANDBOX_ACCEPT_DUPLICATES=true")
    from connexportal.accounts.models import ConnexAccount

    # A fresh sandbox: the first use logs in again.
    ConnexAccount.objects.update(verified_at=None)
    elapsed, calls, fates = run_import(count, faulty_url)
    stored, repeated = sandbox_orders(workdir, "sandbox-faulty")
    reported = sum(n for fate, n in fates.items() if fate != "pending")
    print(f"fates: {fates}; connex calls: {calls}")
    print(f"in Connex: {stored} (want {count}); duplicates: {repeated} (want 0); fates reported: {reported}/{count}")
    faulty_ok = stored == count and repeated == 0 and reported == count
    print(f"time: {elapsed:.1f}s {'PASS' if faulty_ok else 'FAIL'}")
    return 0 if clean_ok and faulty_ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Sandbox benchmark: seed 100,000 products, then time list-products page 1 and the last page.

Runs in-process through the portal's WSGI application (httpx.WSGITransport, so the whole
middleware stack and /sandbox/ routing are measured) against a throwaway SQLite database
in a temporary folder; the project's db.sqlite3 is never touched. Targets: seeding under
60 s, the median of each page under 50 ms. Exits 1 when a target is missed.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
PRODUCTS = 100_000
ORDERS = 1_000
PAGE_SIZE = 10
ROUNDS = 50
SEED_TARGET_S = 60.0
PAGE_TARGET_MS = 50.0
DEMO_LOGIN = {"username": "qbotest@intuit.com", "password": "connex-demo"}


def median_ms(client, token: str, body: dict) -> tuple[float, dict]:
    headers = {"Authorization": f"Bearer {token}"}
    response = client.post("/sandbox/api/products/list", json=body, headers=headers)
    response.raise_for_status()
    timings = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        response = client.post("/sandbox/api/products/list", json=body, headers=headers)
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return statistics.median(timings), response.json()


def verdict(value: float, target: float) -> str:
    return "PASS" if value < target else "FAIL"


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as workdir:
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "connexportal.settings",
                "DEBUG": "true",
                "CONNEX_SANDBOX": "true",
                "DATABASE_URL": f"sqlite:///{Path(workdir) / 'bench.sqlite3'}",
                "LOG_LEVEL": "WARNING",
            }
        )
        sys.path.insert(0, str(PROJECT_DIR))
        import django

        django.setup()
        import httpx
        from django.core.management import call_command
        from django.core.wsgi import get_wsgi_application

        from connexportal.sandbox.seed import seed

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        report = seed(products=PRODUCTS, orders=ORDERS, today=date.today())
        seed_s = time.perf_counter() - started
        print(
            f"seed: {report.products:,} products ({PRODUCTS:,} on the demo account) and {report.orders:,} orders "
            f"in {seed_s:.1f} s (target < {SEED_TARGET_S:.0f} s) {verdict(seed_s, SEED_TARGET_S)}"
        )

        transport = httpx.WSGITransport(app=get_wsgi_application())
        with httpx.Client(transport=transport, base_url="http://127.0.0.1") as client:
            token = client.post("/sandbox/api/account/login", json=DEMO_LOGIN).json()["token"]
            last_page = -(-PRODUCTS // PAGE_SIZE)
            results = []
            for label, number in (("page 1", 1), (f"last page ({last_page:,})", last_page)):
                ms, body = median_ms(client, token, {"pageNumber": number, "pageSize": PAGE_SIZE})
                assert body["objMetaData"] == {"totalRows": PRODUCTS, "totalNumberOfPages": last_page}
                assert len(body["lstProducts"]) == PAGE_SIZE
                results.append(ms)
                print(
                    f"list products {label}, {PAGE_SIZE} per page: median {ms:.1f} ms over {ROUNDS} calls "
                    f"(target < {PAGE_TARGET_MS:.0f} ms) {verdict(ms, PAGE_TARGET_MS)}"
                )
            for label, body in (
                ("page 1, 100 per page", {"pageNumber": 1, "pageSize": 100}),
                ("last page, 100 per page", {"pageNumber": PRODUCTS // 100, "pageSize": 100}),
                ("page 1 sorted by name", {"pageNumber": 1, "pageSize": PAGE_SIZE, "orderBy": "name"}),
                ("search 'lamp'", {"pageNumber": 1, "pageSize": PAGE_SIZE, "searchText": "lamp"}),
            ):
                ms, _ = median_ms(client, token, body)
                print(f"  (for information) {label}: median {ms:.1f} ms")
    passed = seed_s < SEED_TARGET_S and all(ms < PAGE_TARGET_MS for ms in results)
    print("sandbox benchmark:", "PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of the Connex client: its overhead against raw httpx + json for the same products page.

Measures (a) parsing one realistic 100-product page (the spec sample's shape) into the
client's models, and (b) a whole list_products call against a local keep-alive HTTP/1.1
server, next to ``httpx.Client.post`` + ``json.loads`` of the same response. Prints
medians and the client/raw ratio. Targets: parse < 2 ms per page, ratio <= 1.5.

The client runs as in production (the shared pooled httpx.Client, default logging
level) except for its rate limit, which is switched off: 4 requests/s would measure
the throttle, not the client. Needs no Django settings.
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

# Run as a plain script (`python bench/bench_client.py`): make the project importable.
PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from connexportal.connex import ConnexClient, InMemoryTokenStore, ProductQuery, ProductsPage, routes  # noqa: E402

PARSE_TARGET_MS = 2.0
RATIO_TARGET = 1.5
TOKEN = "bench-token"


def products_page(count: int = 100) -> bytes:
    """A page like the spec's sample: every field, 7-digit timestamps, decimals with cents."""
    created = datetime(2024, 8, 28, 7, 24, 57, 652168, tzinfo=UTC)

    def stamp(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "2"

    def money(cents: int) -> Decimal:
        return Decimal(cents).scaleb(-2)

    connection = {
        "deleted": False,
        "connectionType": 4,
        "connectionTypeId": 0,
        "solutionWebsite": "http://www.quickbooksonline.com",
        "connectionSettings": [],
        "scheduledTasks": [],
        "reportingOrders": [],
        "reports": [],
        "inventoryDetailLogs": [],
        "notificationSettings": [],
        "id": 951,
        "reportingUserId": "f444a9f4-1fc4-42cd-9361-25c36f4ff418",
        "reportingUser": None,
        "dateCreated": "2024-08-28T07:23:43.3903372",
        "dateModified": "2024-08-28T07:23:43.3903401",
    }
    products = [
        {
            "name": f"Product {index} - Blue T Shirt size {('S', 'M', 'L', 'XL')[index % 4]}",
            "description": "Soft cotton tee" if index % 3 else "",
            "timeUntilRestock": index % 14,
            "daystoReceive": index % 7,
            "sku": f"SKU-{100000 + index}",
            "asin": f"B0{index:08d}" if index % 2 else "",
            "productType": index % 3,
            "productTyp": None,
            "unitCost": money(500 + index * 37),
            "assetValue": money(index * 1234),
            "salesPrice": money(1999 + index * 50),
            "reorderPoint": index % 10,
            "maxQuantity": 100,
            "quantityOnOrder": money(index * 100),
            "quantityOnSalesOrder": money(0),
            "quantity": money(index * 300),
            "id": 133000 + index,
            "averageCost": money(480 + index * 35),
            "quantityOnHand": money(1200 + index),
            "unit": None,
            "isManual": index % 5 == 0,
            "channelName": "QuickBooks Online",
            "userConnection": connection,
            "createdAt": stamp(created + timedelta(minutes=index)),
            "updatedAt": stamp(created + timedelta(hours=1, minutes=index)),
            "hasUnknownSku": False,
            "internalNote": "",
            "imageUrl": f"https://images.example.com/p/{index}.jpg",
            "imageUrls": [f"https://images.example.com/p/{index}.jpg"],
            "objCategoryIds": {"categoryId": index % 6, "categoryName": "Apparel", "subCategoryIds": None},
            "objUserConnectionViewModel": {"userConnectionId": 951, "userConnectionName": "QuickBooks Online"},
        }
        for index in range(count)
    ]
    page = {
        "lstProducts": products,
        "unknownSkusCount": 0,
        "objMetaData": {"totalRows": 1000, "totalNumberOfPages": 10},
    }
    # Decimals written as JSON numbers with their cents, the way ASP.NET writes decimals.
    return json.dumps(page, default=lambda value: float(value)).encode()


def run_server(page: bytes) -> ThreadingHTTPServer:
    login = json.dumps({"token": TOKEN, "expiration": "2099-01-01T00:00:00.0000000Z"}).encode()
    bodies = {"/" + routes.LOGIN.path: login, "/" + routes.LIST_PRODUCTS.path: page}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = bodies.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def per_call_ms(function: Callable[[], object], rounds: int, per_round: int) -> list[float]:
    results = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(per_round):
            function()
        results.append((time.perf_counter() - started) / per_round * 1000)
    return results


def main() -> None:
    page = products_page()
    parsed = ProductsPage.model_validate_json(page)
    assert len(parsed.products) == 100 and isinstance(parsed.products[0].unit_cost, Decimal)

    per_call_ms(lambda: ProductsPage.model_validate_json(page), rounds=3, per_round=20)
    parse_ms = per_call_ms(lambda: ProductsPage.model_validate_json(page), rounds=25, per_round=20)
    loads_ms = per_call_ms(lambda: json.loads(page), rounds=25, per_round=20)

    server = run_server(page)
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    # The server answers the same bytes every time: without parsed_answers=None the client would
    # reuse its first parse, and the ratio would not count parsing at all.
    client = ConnexClient(
        base_url,
        "bench@example.com",
        "bench-password",
        rate_limit=None,
        token_store=InMemoryTokenStore(),
        parsed_answers=None,
    )
    query = ProductQuery(page_size=100)
    raw = httpx.Client()
    raw_url = f"{base_url}/{routes.LIST_PRODUCTS.path}"
    raw_body = query.model_dump(mode="json", by_alias=True)
    raw_headers = {"Authorization": f"Bearer {TOKEN}"}

    def client_call() -> object:
        return client.list_products(query)

    def raw_call() -> object:
        return json.loads(raw.post(raw_url, json=raw_body, headers=raw_headers).content)

    try:
        for _ in range(30):
            client_call()
            raw_call()
        client_ms: list[float] = []
        raw_ms: list[float] = []
        # Interleaved, so both sides see the same machine load.
        for _ in range(60):
            client_ms += per_call_ms(client_call, rounds=1, per_round=5)
            raw_ms += per_call_ms(raw_call, rounds=1, per_round=5)
    finally:
        raw.close()
        server.shutdown()
        server.server_close()

    parse = statistics.median(parse_ms)
    client_median, raw_median = statistics.median(client_ms), statistics.median(raw_ms)
    ratio = client_median / raw_median
    print(f"page: 100 products, {len(page) / 1024:.0f} KiB of JSON")
    print(f"(a) parse per page   median {parse:.3f} ms (min {min(parse_ms):.3f} ms)")
    print(f"    json.loads alone median {statistics.median(loads_ms):.3f} ms")
    print(f"(b) list_products    median {client_median:.3f} ms per call (client)")
    print(f"    httpx post+json  median {raw_median:.3f} ms per call (raw)")
    print(f"    ratio client/raw {ratio:.2f}")
    print(
        f"targets: parse < {PARSE_TARGET_MS} ms {'met' if parse < PARSE_TARGET_MS else 'MISSED'}; "
        f"ratio <= {RATIO_TARGET} {'met' if ratio <= RATIO_TARGET else 'MISSED'}"
    )


if __name__ == "__main__":
    main()

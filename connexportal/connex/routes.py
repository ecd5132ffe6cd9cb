"""Every path and payload shape of the Connex API that the spec does not give.

INFERRED. The spec (shared/spec/connex-rest-api.md) names some paths and shows
some bodies; everything else here is this project's inference, kept in this
one module so that a correction from the real API is a one-line change. The
sandbox (connexportal/sandbox) serves exactly these routes and shapes.

Conventions (inferred): JSON bodies, ``Authorization: Bearer <token>`` on every
call but login, ASP.NET-style case-insensitive paths and JSON keys, errors as
RFC 7807/9457 ProblemDetails (``application/problem+json`` with ``title``,
``status``, ``detail`` and ``errors: {field: [message, ...]}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Method = Literal["GET", "POST"]


@dataclass(frozen=True, slots=True)
class Route:
    method: Method
    path: str  # relative to the environment's base URL, no leading slash
    inferred: str  # what about this route is inferred; "" when the spec gives it all


# The spec gives this path and body; the response shape is inferred (see LOGIN_RESPONSE).
LOGIN: Final = Route("POST", "api/account/login", "method and response shape")
# Connex's public getting-started page logs in here with PascalCase keys; used when LOGIN answers 404.
LOGIN_FALLBACK: Final = Route("POST", "api/ConnexUser/Login", "only seen in Connex help pages")

# The spec names these three "connections page" calls; methods and shapes are inferred.
LIST_CONNECTIONS: Final = Route("GET", "API/UserConnections/List", "method, response shape")
UPDATE_SETTINGS: Final = Route("POST", "API/Settings/Update", "request and response shapes")
RUN_NOW: Final = Route("POST", "API/ScheduledTask/RunNow", "request and response shapes")

# The spec gives the bodies of these lists, not their paths.
LIST_PRODUCTS: Final = Route("POST", "api/products/list", "path")
LIST_ORDERS: Final = Route("POST", "api/orders/list", "path; customerName in each entry")

# The spec gives path, body and (non-JSON) response of these writes.
ADD_PRODUCT: Final = Route("POST", "api/products/add", "method")
CREATE_ORDERS: Final = Route("POST", "api/orders/createorders", "method")

ALL_ROUTES: Final = (
    LOGIN,
    LOGIN_FALLBACK,
    LIST_CONNECTIONS,
    UPDATE_SETTINGS,
    RUN_NOW,
    LIST_PRODUCTS,
    LIST_ORDERS,
    ADD_PRODUCT,
    CREATE_ORDERS,
)

AUTH_HEADER: Final = "Authorization"
AUTH_SCHEME: Final = "Bearer"

# Literal success bodies from the spec (neither is JSON; the second only looks like it).
ADD_PRODUCT_OK_TEXT: Final = "Added Successfully"
CREATE_ORDERS_OK_TEXT: Final = '{\n  "Records inserted Successfully"\n}'
CREATE_ORDERS_MAX_BATCH: Final = 100

# Connex's own figure for a client's request rate.
REQUESTS_PER_SECOND: Final = 4.0

# Dates in the list-orders body are MM/DD/YYYY (spec); timestamps in responses carry up
# to 7 fractional digits and no zone, and mean UTC (spec sample + findings).
ORDERS_QUERY_DATE_FORMAT: Final = "%m/%d/%Y"

# --- Inferred enumerations -------------------------------------------------------------

# connectionType -> channel. Only 4 = QuickBooks Online appears in the spec's samples.
CONNECTION_TYPES: Final = {
    1: "Amazon",
    2: "Shopify",
    3: "eBay",
    4: "QuickBooks Online",
    5: "WooCommerce",
    6: "BigCommerce",
    7: "Etsy",
    8: "Walmart",
    99: "Custom integration",
}

# productType. Only 0 appears in the spec (an inventory item synced from QuickBooks).
PRODUCT_TYPES: Final = {0: "Inventory", 1: "Non-inventory", 2: "Service", 3: "Bundle"}

# Scheduled task types (findings: orders, inventory, orders to ecommerce).
TASK_TYPES: Final = {0: "Orders", 1: "Inventory", 2: "Orders to ecommerce"}
TASK_STATUSES: Final = ("Idle", "Queued", "Running", "Completed", "Failed")

# SummaryTransactionGroupBy. The spec documents only 1 ("use the value 1" for a summary);
# the findings list the groupings; the numbers other than 0 and 1 are inferred.
SUMMARY_GROUP_BY: Final = {
    0: "Individual sales",
    1: "Summary by store name",
    2: "Summary by payment method",
    3: "Summary by payment method and store name",
    4: "Summary by order date month",
}

# Setting names (spec). Secrets must never be shown, logged or sent to a browser.
SECRET_SETTINGS: Final = frozenset({"SolutionUserName", "SolutionPassword", "SolutionParameter"})
DEPRECATED_SETTINGS: Final = frozenset({"ShopifyToken", "Stores", "OrderStatuses"})
WINDOW_SETTINGS: Final = (
    ("LastDownloadUtc", "LastDownloadUtcEnd"),
    ("LastProductDownloadUtc", "LastProductDownloadUtcEnd"),
    ("LastProductUploadUtc", "LastProductUploadUtcEnd"),
)

# --- Inferred payload shapes (examples are normative for client and sandbox) ----------

# LOGIN response. The client also accepts a bare JSON string, {"accessToken"},
# {"access_token"}, and "expires_in" (seconds) instead of "expiration".
LOGIN_RESPONSE_EXAMPLE: Final = {
    "token": "opaque-bearer-token",
    "expiration": "2026-11-27T13:25:54.1234567Z",
}

# LIST_CONNECTIONS response: a JSON array of userConnection objects, the same object the
# spec embeds in each product, with its arrays filled in and a name added.
LIST_CONNECTIONS_RESPONSE_EXAMPLE: Final = [
    {
        "id": 951,
        "reportingUserId": "f444a9f4-1fc4-42cd-9361-25c36f4ff418",
        "reportingUser": None,
        "userConnectionName": "Amazon US",
        "connectionType": 1,
        "connectionTypeId": 0,
        "solutionWebsite": "https://sellercentral.amazon.com",
        "deleted": False,
        "dateCreated": "2024-08-28T07:23:43.3903372",
        "dateModified": "2024-08-28T07:23:43.3903401",
        "connectionSettings": [
            {"id": 1, "userConnectionId": 951, "name": "LastDownloadUtc", "value": "2024-08-27T00:00:00"},
            {"id": 2, "userConnectionId": 951, "name": "LastDownloadUtcEnd", "value": "2024-08-27T23:59:59"},
            {"id": 3, "userConnectionId": 951, "name": "SummaryTransactionGroupBy", "value": "1"},
            {"id": 4, "userConnectionId": 951, "name": "SolutionPassword", "value": "refresh-token"},
        ],
        "scheduledTasks": [
            {
                "id": 77,
                "userConnectionId": 951,
                "taskType": 0,
                "taskTypeName": "Orders",
                "enabled": True,
                "intervalSeconds": 86400,
                "status": "Completed",
                "lastRunUtc": "2024-08-28T05:45:00.0000000",
                "nextRunUtc": "2024-08-29T05:45:00.0000000",
                "runLogs": [
                    {
                        "id": 5001,
                        "scheduledTaskId": 77,
                        "status": "Completed",
                        "trigger": "Schedule",
                        "queuedUtc": "2024-08-28T05:45:00.0000000",
                        "startedUtc": "2024-08-28T05:45:01.0000000",
                        "finishedUtc": "2024-08-28T05:45:04.0000000",
                        "ordersDownloaded": 12,
                        "ordersSkipped": 1,
                        "message": "Downloaded 12 orders, skipped 1 duplicate",
                    }
                ],
            }
        ],
        "reportingOrders": [],
        "reports": [],
        "inventoryDetailLogs": [],
        "notificationSettings": [],
    }
]

# UPDATE_SETTINGS request: only the named settings change; others are left untouched.
UPDATE_SETTINGS_REQUEST_EXAMPLE: Final = {
    "userConnectionId": 951,
    "settings": [
        {"name": "LastDownloadUtc", "value": "2024-09-01T00:00:00"},
        {"name": "LastDownloadUtcEnd", "value": "2024-09-01T23:59:59"},
    ],
}
# UPDATE_SETTINGS response: the connection's full settings after the update.
UPDATE_SETTINGS_RESPONSE_EXAMPLE: Final = {
    "userConnectionId": 951,
    "connectionSettings": LIST_CONNECTIONS_RESPONSE_EXAMPLE[0]["connectionSettings"],
}

# RUN_NOW request: scheduledTaskId is optional (default: the connection's orders task).
RUN_NOW_REQUEST_EXAMPLE: Final = {"userConnectionId": 951, "scheduledTaskId": 77}
# RUN_NOW response (HTTP 202): the queued run. Its progress shows in LIST_CONNECTIONS
# (scheduledTasks[].status and runLogs[0], newest first).
RUN_NOW_RESPONSE_EXAMPLE: Final = {
    "userConnectionId": 951,
    "scheduledTaskId": 77,
    "runId": 5002,
    "status": "Queued",
    "queuedUtc": "2024-08-28T09:00:00.0000000",
}

# LIST_ORDERS entries: the spec's sample fields plus "customerName" (INFERRED: the search by
# customer that the list supports implies the field exists; the spec's sample omits it).
ORDER_LIST_EXTRA_FIELDS: Final = ("customerName",)

# Error body for every 4xx the sandbox sends (ASP.NET ProblemDetails).
PROBLEM_EXAMPLE: Final = {
    "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
    "title": "One or more validation errors occurred.",
    "status": 400,
    "detail": "Order 1 of 2: OrderNumber is required.",
    "errors": {"[0].OrderNumber": ["The OrderNumber field is required."]},
}

# --- Additions by the client (issue 3) ---------------------------------------------------

# Page size the client asks for when the caller does not choose one. INFERRED: the largest
# page Connex serves is not public; iterators follow objMetaData.totalNumberOfPages, so a
# server that caps the page size still yields every row.
DEFAULT_PAGE_SIZE: Final = 100

# --- Additions by the client (issue 10: exact writes) ---------------------------------------

# createorders statuses that ASP.NET answers before the action reads a single order (routing,
# method, media type, body size, authorization filters). INFERRED: after any other 4xx Connex may
# have stored part of the batch before refusing the rest, so the client looks the batch up.
CREATE_ORDERS_REFUSED_UNREAD: Final = frozenset({403, 404, 405, 413, 415})

# How the client finds out which orders of a batch Connex has (its duplicate check and its repair
# of a batch whose answer was lost). INFERRED: the spec says to "list orders by order number" but
# not how searchText matches. Two listings are exact under any plausible matching:
#   - a sweep: beginDate..endDate around the orders' dates, userConnectionId, no searchText
#     (the spec's sample sends "" to mean no filter), compared row by row;
#   - a search per order: searchText = the order number, which every plausible matching
#     (equals, starts with, contains; case-insensitive or not) returns.
# The client sweeps when the sweep is at most as many pages as there are orders to find, and
# searches otherwise. A prefix of several numbers as searchText would be cheaper but is exact
# only if searchText matches substrings, so it is not used. Rows are compared with
# keys.order_key. The dates widen by this many days either side: Connex may file an order
# under its local day rather than its UTC one.
ORDERS_LOOKUP_MARGIN_DAYS: Final = 1

# Calls that change nothing upstream, so a repeat after a timeout or 5xx is harmless.
# INFERRED for the three POST lists/login: their bodies are queries, not commands.
READ_ROUTES: Final = frozenset({LOGIN, LOGIN_FALLBACK, LIST_CONNECTIONS, LIST_PRODUCTS, LIST_ORDERS})

# LOGIN_FALLBACK's body keys (Connex help pages); LOGIN uses the spec's camelCase keys.
LOGIN_FALLBACK_KEYS: Final = ("Username", "Password")

"""The order import endpoints' bodies (see order_imports.py), as pydantic models for the OpenAPI document."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from connexportal.imports.orders import MAX_ORDERS
from connexportal.partner_api.schemas import MerchantListQuery, PageLinks, Pagination, RequestModel

ImportStatusName = Literal["queued", "running", "finished", "failed", "cancelled"]


class OrderImportCreate(RequestModel):
    """Orders to send to Connex on one of the merchant's connections, checked first, imported by a job."""

    connection_id: int = Field(ge=1, le=2**63 - 1, description="One of the merchant's Connex connections.")
    orders: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_ORDERS,
        description=(
            f"1 to {MAX_ORDERS} orders with the fields of Connex's createorders (OrderNumber, OrderDate, "
            "CustomerName, OrderTotal, TotalTax, OrderType, ShippingAddress, OrderDetails ...), keys in any "
            "casing. ReportingUserId and UserConnectionId are filled in by the portal. Order numbers must be "
            "unique within the request; orders Connex already has are skipped."
        ),
    )


class OrderImportAccepted(BaseModel):
    """The import is queued; follow status_url."""

    id: str = Field(json_schema_extra={"format": "uuid"})
    status: ImportStatusName
    status_url: str = Field(json_schema_extra={"format": "uri"})


class OrderImportQuery(MerchantListQuery):
    """The query string of an import's status: pages of its failures (lax: query values are strings)."""


class OrderImportFailure(BaseModel):
    row: int = Field(description="The order's position in the request (or the file's row), from 1.")
    order_number: str
    reason: str = Field(description="Why it was not imported.")


class OrderImportOut(BaseModel):
    """An import's progress; counts add up to total once it has ended."""

    id: str = Field(json_schema_extra={"format": "uuid"})
    status: ImportStatusName
    connection_id: int
    total: int = Field(description="Orders in the import.")
    created: int = Field(description="Orders this import created in Connex.")
    already_existed: int = Field(description="Orders Connex already had (same order number), so not sent.")
    failed: int = Field(description="Orders not imported; failures lists them with the reason.")
    cancelled: int = Field(description="Orders not sent because the import was cancelled.")
    remaining: int = Field(description="Orders not decided yet.")
    error: str = Field(description="Why the import failed as a whole; empty otherwise.")
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    failures: list[OrderImportFailure] = Field(description="One page of the failed orders, by row.")
    pagination: Pagination
    links: PageLinks

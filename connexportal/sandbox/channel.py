"""Simulated selling channels: the orders that Amazon, Shopify ... 'have' for a connection.

A channel's orders are a pure function of the connection and the hour they were placed
in, so downloading the same window twice finds the same orders (and the second run
skips them as duplicates), and overlapping windows agree with each other.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from connexportal.connex import routes
from connexportal.sandbox import catalog

# Connex advises a 24-hour window; a longer one than this fails the run.
MAX_WINDOW = timedelta(days=31)

# Mean orders per hour on each channel type; a custom integration pushes its own orders.
ORDERS_PER_HOUR = {1: 1.6, 2: 0.9, 3: 0.5, 5: 0.6, 6: 0.5, 7: 0.4, 8: 0.8}
TAX_RATE = Decimal("0.08")
_HOUR = timedelta(hours=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class ChannelLine:
    sku: str
    name: str
    quantity: Decimal
    price_excl_tax: Decimal
    price_incl_tax: Decimal
    order_numbers: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ChannelOrder:
    number: str
    order_date: datetime
    customer_name: str
    store: str
    payment_method: str
    shipping_method: str
    region: str
    country: str
    shipping: Decimal
    lines: list[ChannelLine]
    order_type: int = 0
    summarized: list[str] = field(default_factory=list)

    @property
    def total_tax(self) -> Decimal:
        return sum((line.quantity * (line.price_incl_tax - line.price_excl_tax) for line in self.lines), Decimal(0))

    @property
    def total(self) -> Decimal:
        return sum((line.quantity * line.price_incl_tax for line in self.lines), self.shipping)


def sells_orders(connection_type: int) -> bool:
    return connection_type in ORDERS_PER_HOUR


def _order_number(connection_type: int, prefix: str, rng: random.Random, hour: int, position: int) -> str:
    if connection_type == 1:
        return f"114-{rng.randrange(10**7):07d}-{rng.randrange(10**7):07d}"
    if connection_type == 3:
        return f"{rng.randrange(10, 99)}-{rng.randrange(10**5):05d}-{rng.randrange(10**5):05d}"
    if connection_type == 2:
        return f"#{hour * 4 + position}"
    return f"{prefix}-{hour * 4 + position}"


def _hour_orders(connection_id: int, connection_type: int, store: str, hour: int) -> list[ChannelOrder]:
    rng = random.Random(f"channel:{connection_id}:{hour}")
    rate = ORDERS_PER_HOUR[connection_type]
    count = sum(1 for _ in range(4) if rng.random() < rate / 4)
    prefix = catalog.SKU_PREFIXES.get(connection_type, "CHN")
    orders = []
    for position in range(count):
        number = _order_number(connection_type, prefix, rng, hour, position)
        placed = _EPOCH + _HOUR * hour + timedelta(seconds=rng.randrange(3600))
        lines = []
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            if rng.random() < 0.05:
                name, sku, price = "Unlisted item", f"{prefix}-X{rng.randrange(1000):03d}", Decimal("9.99")
            else:
                listed = catalog.item(prefix, rng.randrange(catalog.CHANNEL_CATALOG_SIZE))
                name, sku, price = listed.name, listed.sku, listed.sales_price
            incl = (price * (1 + TAX_RATE)).quantize(catalog.CENT)
            lines.append(ChannelLine(sku, name, Decimal(rng.choice((1, 1, 1, 2, 3))), price, incl, [number]))
        region, country = rng.choice(catalog.REGIONS)
        orders.append(
            ChannelOrder(
                number=number,
                order_date=placed,
                customer_name=catalog.customer_name(rng),
                store=store,
                payment_method=rng.choice(catalog.PAYMENT_METHODS),
                shipping_method=rng.choice(catalog.SHIPPING_METHODS),
                region=region,
                country=country,
                shipping=Decimal(rng.choice(("0.00", "4.99", "7.50"))),
                lines=lines,
            )
        )
    return orders


def orders_between(*, connection_id: int, connection_type: int, store: str, start: datetime, end: datetime):
    """Every order the channel has with ``start <= order date <= end``, oldest first."""
    if not sells_orders(connection_type) or end < start:
        return []
    first_hour = int((start - _EPOCH) // _HOUR)
    last_hour = int((end - _EPOCH) // _HOUR)
    found = []
    for hour in range(first_hour, last_hour + 1):
        found.extend(
            order
            for order in _hour_orders(connection_id, connection_type, store, hour)
            if start <= order.order_date <= end
        )
    found.sort(key=lambda order: (order.order_date, order.number))
    return found


def _group_key(order: ChannelOrder, group_by: int) -> tuple[str, str]:
    """(part of the summary's order number, its label) for SummaryTransactionGroupBy ``group_by``."""
    day = order.order_date.strftime("%Y%m%d")
    method = "".join(word[0] for word in order.payment_method.split()).upper()
    if group_by == 1:
        return day, f"{order.store}, {order.order_date:%Y-%m-%d}"
    if group_by == 2:
        return f"{day}-{method}", f"{order.payment_method}, {order.order_date:%Y-%m-%d}"
    if group_by == 3:
        return f"{day}-{method}-S", f"{order.store}, {order.payment_method}, {order.order_date:%Y-%m-%d}"
    return order.order_date.strftime("%Y%m"), f"{order.store}, {order.order_date:%B %Y}"


def summarize(orders: list[ChannelOrder], *, group_by: int, prefix: str) -> list[ChannelOrder]:
    """One summary order per group (routes.SUMMARY_GROUP_BY), its lines merged by SKU.

    A summary's number is stable for its group, so a later download of the same day
    (or month) finds it already written and skips the group.
    """
    groups: dict[tuple[str, str], list[ChannelOrder]] = defaultdict(list)
    for order in orders:
        groups[_group_key(order, group_by)].append(order)
    summaries = []
    for (key, label), members in groups.items():
        merged: dict[str, ChannelLine] = {}
        for order in members:
            for line in order.lines:
                into = merged.get(line.sku)
                if into is None:
                    merged[line.sku] = ChannelLine(
                        line.sku, line.name, line.quantity, line.price_excl_tax, line.price_incl_tax, [order.number]
                    )
                else:
                    into.quantity += line.quantity
                    into.order_numbers.append(order.number)
        first = members[0]
        midnight = first.order_date.replace(hour=0, minute=0, second=0, microsecond=0)
        summaries.append(
            ChannelOrder(
                number=f"SUM-{prefix}-{key}",
                order_date=midnight.replace(day=1) if group_by == 4 else midnight,
                customer_name=f"Summary: {label}",
                store=first.store,
                payment_method=first.payment_method if group_by in (2, 3) else "",
                shipping_method="",
                region="",
                country="",
                shipping=sum((order.shipping for order in members), Decimal(0)),
                lines=list(merged.values()),
                summarized=[order.number for order in members],
            )
        )
    return summaries


def describe_group_by(group_by: int) -> str:
    return routes.SUMMARY_GROUP_BY.get(group_by, f"grouping {group_by}").lower()

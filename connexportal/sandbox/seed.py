"""Demo data for the sandbox: two Connex accounts with connections, tasks, run history, products and orders.

Deterministic: everything is a function of the account, the counts and the anchor day
(``today``), so two fresh databases seeded alike hold the same rows. Idempotent: a
second run only adds what is missing (keyed by username, connection name, setting
name, task type, SKU and order number) and changes nothing that exists, so ids stay
stable and what a demo user changed through the API survives.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db import connections, transaction

from connexportal.connex import routes
from connexportal.sandbox import catalog, channel, runs, wire
from connexportal.sandbox.models import (
    ConnectionSetting,
    ConnexUser,
    Order,
    OrderLine,
    Product,
    ScheduledTask,
    TaskRun,
    TaskStatus,
    UserConnection,
)

DAILY = 86400
EVERY_15_MINUTES = 900
HOURLY = 3600
HISTORY_RUNS = 5
ORDER_DAYS = 90
PRODUCT_BATCH = 2000
# The time of day of the spec sample's connection dateCreated.
CONNECTED_AT = timedelta(hours=7, minutes=23, seconds=43, microseconds=390337)


@dataclass(frozen=True, slots=True)
class ConnectionSeed:
    name: str
    connection_type: int
    website: str
    product_weight: int
    order_weight: int
    group_by: int = 0
    paired: bool = True
    tasks: tuple[tuple[int, int], ...] = ((0, DAILY),)

    @property
    def prefix(self) -> str:
        return catalog.SKU_PREFIXES[self.connection_type]


@dataclass(frozen=True, slots=True)
class AccountSeed:
    username: str
    password: str
    reporting_user_id: uuid.UUID
    read_only: bool
    share: int  # this account gets 1/share of the requested products and orders
    connections: tuple[ConnectionSeed, ...]


DEMO_ACCOUNT = AccountSeed(
    username="qbotest@intuit.com",
    password="connex-demo",
    # The reportingUserId of the spec's list-products sample.
    reporting_user_id=uuid.UUID("f444a9f4-1fc4-42cd-9361-25c36f4ff418"),
    read_only=True,
    share=1,
    connections=(
        ConnectionSeed("QuickBooks Online", 4, "http://www.quickbooksonline.com", 4, 0, tasks=((1, EVERY_15_MINUTES),)),
        ConnectionSeed("Amazon US", 1, "https://sellercentral.amazon.com", 3, 5, group_by=1),
        ConnectionSeed(
            "Shopify Store", 2, "https://admin.shopify.com", 2, 4, tasks=((0, DAILY), (1, EVERY_15_MINUTES))
        ),
        # Not paired: its runs fail, as an unpaired channel's do.
        ConnectionSeed("eBay", 3, "https://www.ebay.com", 1, 1, paired=False),
    ),
)
OTHER_ACCOUNT = AccountSeed(
    username="other@connex.test",
    password="connex-other",
    reporting_user_id=uuid.uuid5(uuid.NAMESPACE_URL, "https://connex.test/sandbox/other@connex.test"),
    read_only=False,
    share=10,
    connections=(
        ConnectionSeed("WooCommerce Shop", 5, "https://shop.example.com/wp-admin", 3, 3),
        ConnectionSeed("QuickBooks Online", 4, "http://www.quickbooksonline.com", 2, 0, tasks=((1, EVERY_15_MINUTES),)),
        ConnectionSeed("Custom Integration", 99, "https://partner.example.com", 1, 1, tasks=((0, HOURLY),)),
    ),
)
ACCOUNTS = (DEMO_ACCOUNT, OTHER_ACCOUNT)


@dataclass
class SeedReport:
    users: int = 0
    connections: int = 0
    settings: int = 0
    tasks: int = 0
    runs: int = 0
    products: int = 0
    orders: int = 0


def _split(total: int, weights: list[int]) -> list[int]:
    """``total`` shared out by ``weights``, exactly (largest remainders first)."""
    if not total or not sum(weights):
        return [0] * len(weights)
    exact = [total * weight / sum(weights) for weight in weights]
    shares = [int(value) for value in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (exact[i] - shares[i], -i), reverse=True)
    for i in by_remainder[: total - sum(shares)]:
        shares[i] += 1
    return shares


def _secret(*parts: str) -> str:
    return hashlib.sha256(":".join(("connex-sandbox", *parts)).encode()).hexdigest()[:32]


def seed(*, products: int, orders: int, today: date, log: Callable[[str], object] = lambda line: None) -> SeedReport:
    """Seed both demo accounts; ``products`` and ``orders`` are the demo account's counts."""
    report = SeedReport()
    anchor = datetime.combine(today, time(), tzinfo=UTC)
    for account in ACCOUNTS:
        with transaction.atomic():
            _seed_account(
                account,
                products=products // account.share,
                orders=orders // account.share,
                anchor=anchor,
                report=report,
            )
        log(
            f"{account.username} / {account.password}{' (read-only: cannot add products)' if account.read_only else ''}"
        )
    # Fresh statistics let the query planner pick the list calls' indexes (SQLite has none until asked).
    database = connections[Product.objects.db]
    with database.cursor() as cursor:
        for model in (Product, Order, OrderLine):
            cursor.execute(f"ANALYZE {database.ops.quote_name(model._meta.db_table)}")
    return report


def _seed_account(account: AccountSeed, *, products: int, orders: int, anchor: datetime, report: SeedReport) -> None:
    user, created = ConnexUser.objects.get_or_create(
        username=account.username,
        defaults={
            "reporting_user_id": account.reporting_user_id,
            "read_only": account.read_only,
            "date_created": anchor - timedelta(days=400),
        },
    )
    # The documented demo logins must work, whatever a previous session did to them.
    if created or not user.check_password(account.password) or user.read_only != account.read_only:
        user.set_password(account.password)
        user.read_only = account.read_only
        user.save()
    report.users += created
    product_counts = _split(products, [c.product_weight for c in account.connections])
    order_counts = _split(orders, [c.order_weight for c in account.connections])
    for position, (spec, product_count, order_count) in enumerate(
        zip(account.connections, product_counts, order_counts, strict=True)
    ):
        connection, created = UserConnection.objects.get_or_create(
            user=user,
            name=spec.name,
            defaults={
                "connection_type": spec.connection_type,
                "solution_website": spec.website,
                "date_created": anchor - timedelta(days=200 - position) + CONNECTED_AT,
                "date_modified": anchor - timedelta(days=200 - position) + CONNECTED_AT + timedelta(microseconds=3),
            },
        )
        report.connections += created
        _seed_settings(account, spec, connection, anchor, report)
        _seed_tasks(account, spec, connection, anchor, report, product_count)
        _seed_products(account, spec, connection, product_count, anchor, report)
        _seed_orders(account, spec, connection, order_count, anchor, report)


def _seed_settings(account, spec: ConnectionSeed, connection, anchor: datetime, report: SeedReport) -> None:
    yesterday = anchor - timedelta(days=1)
    window = (wire.setting_timestamp(yesterday), wire.setting_timestamp(anchor - timedelta(seconds=1)))
    secret = _secret(account.username, spec.name)
    values = {
        "SolutionUserName": f"sandbox-{spec.prefix.lower()}-{secret[:8]}" if spec.paired else "",
        "SolutionPassword": f"sandbox-refresh-{secret}" if spec.paired else "",
        "SolutionParameter": spec.website if spec.paired else "",
        "LastDownloadUtc": window[0],
        "LastDownloadUtcEnd": window[1],
        "LastProductDownloadUtc": window[0],
        "LastProductDownloadUtcEnd": window[1],
        "LastProductUploadUtc": window[0],
        "LastProductUploadUtcEnd": window[1],
        "SummaryTransactionGroupBy": str(spec.group_by),
        # No longer used by Connex, but still stored: a client must carry them untouched.
        "Stores": "",
        "OrderStatuses": "",
    }
    if spec.connection_type == 2:
        values["ShopifyToken"] = ""
    existing = set(connection.settings.values_list("name", flat=True))
    missing = [
        ConnectionSetting(connection=connection, name=n, value=v) for n, v in values.items() if n not in existing
    ]
    ConnectionSetting.objects.bulk_create(missing)
    report.settings += len(missing)


def _history_message(spec: ConnectionSeed, task_type: int, rng: random.Random, product_count: int):
    """(status, downloaded, skipped, message) of one past run, worded as runs.py words a real one."""
    channel_name = routes.CONNECTION_TYPES[spec.connection_type]
    if task_type != 0:
        return TaskStatus.COMPLETED, 0, 0, f"Synced inventory of {product_count} products with {channel_name}"
    if spec.connection_type == runs.CUSTOM_INTEGRATION:
        message = f"Nothing to download: {channel_name} orders arrive through api/orders/createorders."
        return TaskStatus.COMPLETED, 0, 0, message
    if not spec.paired:
        return (
            TaskStatus.FAILED,
            0,
            0,
            f"Could not connect to {channel_name}: the connection is not paired "
            "(SolutionUserName and SolutionPassword are empty).",
        )
    downloaded, skipped = rng.randrange(6, 40), rng.choice((0, 0, 0, 1, 2))
    duplicates = f"skipped {skipped} duplicate{'' if skipped == 1 else 's'}"
    if spec.group_by:
        how = channel.describe_group_by(spec.group_by)
        return (
            TaskStatus.COMPLETED,
            downloaded,
            skipped,
            f"Downloaded {downloaded} orders as 1 summaries ({how}), {duplicates}",
        )
    return TaskStatus.COMPLETED, downloaded, skipped, f"Downloaded {downloaded} orders, {duplicates}"


def _seed_tasks(account, spec: ConnectionSeed, connection, anchor: datetime, report: SeedReport, product_count: int):
    for task_type, interval in spec.tasks:
        task, created = ScheduledTask.objects.get_or_create(
            connection=connection, task_type=task_type, defaults={"interval_seconds": interval}
        )
        report.tasks += created
        if task.runs.exists():
            continue
        # Daily syncs run at 05:45 UTC (Connex's default); the others on their interval before the anchor day.
        last = (
            anchor - timedelta(days=1) + timedelta(hours=5, minutes=45)
            if interval == DAILY
            else anchor - timedelta(seconds=interval)
        )
        rng = random.Random(f"history:{account.username}:{spec.name}:{task_type}")
        history = []
        for back in range(HISTORY_RUNS - 1, -1, -1):
            queued = last - timedelta(seconds=interval * back)
            status, downloaded, skipped, message = _history_message(spec, task_type, rng, product_count)
            history.append(
                TaskRun(
                    task=task,
                    status=status,
                    trigger=runs.TRIGGER_SCHEDULE,
                    queued_utc=queued,
                    started_utc=queued + timedelta(seconds=1),
                    finished_utc=queued + timedelta(seconds=3 + rng.randrange(5)),
                    orders_downloaded=downloaded,
                    orders_skipped=skipped,
                    message=message,
                )
            )
        TaskRun.objects.bulk_create(history)
        report.runs += len(history)
        task.status = history[-1].status
        task.last_run_utc = history[-1].started_utc
        task.next_run_utc = last + timedelta(seconds=interval)
        task.save(update_fields=["status", "last_run_utc", "next_run_utc"])


def _product(account: AccountSeed, spec: ConnectionSeed, connection, index: int, anchor: datetime) -> Product:
    item = catalog.item(spec.prefix, index)
    rng = random.Random(f"product:{account.username}:{spec.prefix}:{index}")
    created = anchor - timedelta(
        days=1 + rng.randrange(365), seconds=rng.randrange(86400), microseconds=rng.randrange(10**6)
    )
    updated = min(created + timedelta(days=rng.randrange(30), seconds=rng.randrange(86400)), anchor)
    on_hand = Decimal(rng.choice((0, 0, 3, 12, 25, 40, 120)))
    return Product(
        user_id=connection.user_id,
        connection=connection,
        name=item.name,
        sku=item.sku,
        description=f"{item.name} from the {item.category.lower()} range." if rng.random() < 0.6 else "",
        asin=f"B0{rng.randrange(10**8):08d}" if spec.connection_type == 1 else "",
        product_type=item.product_type,
        unit_value=item.sales_price,
        unit_cost=item.unit_cost,
        sales_price=item.sales_price if spec.connection_type != 4 or rng.random() < 0.9 else Decimal(0),
        asset_value=(item.unit_cost * on_hand).quantize(catalog.CENT),
        average_cost=item.unit_cost,
        quantity_on_order=Decimal(rng.choice((0, 0, 0, 10, 24))),
        quantity_on_sales_order=Decimal(rng.choice((0, 0, 1, 2))),
        quantity_on_hand=on_hand,
        quantity=on_hand,
        reorder_point=rng.choice((0, 0, 5, 10)),
        max_quantity=rng.choice((0, 50, 100, 200)),
        time_until_restock=rng.choice((0, 3, 7, 14)),
        days_to_receive=rng.choice((0, 2, 5)),
        is_manual=rng.random() < 0.1,
        has_unknown_sku=rng.random() < 0.08,
        internal_note="Reorder from the usual supplier." if rng.random() < 0.05 else "",
        image_urls=[f"https://images.example.com/{item.sku.lower()}.jpg"] if rng.random() < 0.3 else [],
        category_name=item.category,
        created_at=created,
        updated_at=updated,
    )


def _seed_products(account, spec: ConnectionSeed, connection, count: int, anchor: datetime, report: SeedReport) -> None:
    if not count:
        return
    existing = set(Product.objects.filter(connection=connection).values_list("sku", flat=True))
    for start in range(0, count, PRODUCT_BATCH):
        batch = [
            _product(account, spec, connection, index, anchor)
            for index in range(start, min(start + PRODUCT_BATCH, count))
            if catalog.sku(spec.prefix, index) not in existing
        ]
        Product.objects.bulk_create(batch, batch_size=PRODUCT_BATCH)
        report.products += len(batch)


def _seeded_order_number(spec: ConnectionSeed, index: int, rng: random.Random) -> str:
    # Outside the number ranges the simulated channels use for new orders (channel.py).
    if spec.connection_type == 1:
        return f"111-{rng.randrange(10**7):07d}-{rng.randrange(10**7):07d}"
    if spec.connection_type == 3:
        return f"99-{index:05d}-{rng.randrange(10**5):05d}"
    if spec.connection_type == 2:
        return f"#{1001 + index}"
    return f"{spec.prefix}-{1001 + index}"


def _order(account: AccountSeed, spec: ConnectionSeed, index: int, catalog_size: int, anchor: datetime):
    rng = random.Random(f"order:{account.username}:{spec.name}:{index}")
    number = _seeded_order_number(spec, index, rng)
    placed = anchor - timedelta(seconds=1 + rng.randrange(ORDER_DAYS * 86400))
    lines = []
    for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
        listed = catalog.item(spec.prefix, rng.randrange(max(catalog_size, 1)))
        incl = (listed.sales_price * (1 + channel.TAX_RATE)).quantize(catalog.CENT)
        quantity = Decimal(rng.choice((1, 1, 1, 2, 3)))
        lines.append(channel.ChannelLine(listed.sku, listed.name, quantity, listed.sales_price, incl, [number]))
    region, country = rng.choice(catalog.REGIONS)
    return channel.ChannelOrder(
        number=number,
        order_date=placed.replace(microsecond=0),
        customer_name=catalog.customer_name(rng),
        store=spec.name,
        payment_method=rng.choice(catalog.PAYMENT_METHODS),
        shipping_method=rng.choice(catalog.SHIPPING_METHODS),
        region=region,
        country=country,
        shipping=Decimal(rng.choice(("0.00", "4.99", "7.50"))),
        lines=lines,
        order_type=1 if rng.random() < 0.03 else 0,
    )


def _seed_orders(account, spec: ConnectionSeed, connection, count: int, anchor: datetime, report: SeedReport) -> None:
    if not count:
        return
    catalog_size = min(Product.objects.filter(connection=connection).count(), catalog.CHANNEL_CATALOG_SIZE)
    planned = [_order(account, spec, index, catalog_size, anchor) for index in range(count)]
    existing = set(Order.objects.filter(connection=connection).values_list("order_number", flat=True))
    new = [order for order in planned if order.number not in existing]
    runs.write_channel_orders(connection, new)
    report.orders += len(new)

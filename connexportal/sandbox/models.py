"""What the emulated Connex stores: users, tokens, connections and their settings and tasks,
products, orders, and the fault profiles that tests and demos inject.

Column names follow Django; the wire names (camelCase, the spec's spellings) live in
serializers.py. Money and quantities are decimal(18,2), as the spec's samples show them.
"""

from __future__ import annotations

import uuid

from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.utils import timezone

from connexportal.connex import routes
from connexportal.connex.keys import order_key, sku_key

MONEY = {"max_digits": 18, "decimal_places": 2, "default": 0}

# The spec's OrderType enum (createorders table); not inferred, so it lives here and not in routes.
ORDER_TYPES = {
    0: "webOrder",
    1: "WebRefund",
    2: "Invoice",
    3: "CreditMemo",
    4: "SalesOrder",
    5: "SalesReceipt",
    6: "RefundReceipt",
}


class ConnexUser(models.Model):
    reporting_user_id = models.UUIDField(unique=True, default=uuid.uuid4)
    # Stored lower-case: Connex usernames are email addresses and log in case-insensitively.
    username = models.CharField(max_length=254, unique=True)
    password = models.CharField(max_length=128)
    read_only = models.BooleanField(default=False, help_text="Cannot create products, like Connex's demo account.")
    date_created = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "Connex user"

    def __str__(self) -> str:
        return self.username

    def save(self, *args, **kwargs) -> None:
        self.username = self.username.strip().lower()
        super().save(*args, **kwargs)

    def set_password(self, raw_password: str) -> None:
        self.password = make_password(raw_password)

    def check_password(self, raw_password: str) -> bool:
        def upgrade(raw: str) -> None:
            self.set_password(raw)
            self.save(update_fields=["password"])

        return check_password(raw_password, self.password, upgrade)


class AccessToken(models.Model):
    """A bearer token; only its SHA-256 is stored, so a database dump leaks no usable token."""

    user = models.ForeignKey(ConnexUser, on_delete=models.CASCADE, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"token of {self.user_id} until {self.expires_at:%Y-%m-%d %H:%M:%S}"


class UserConnection(models.Model):
    user = models.ForeignKey(ConnexUser, on_delete=models.CASCADE, related_name="connections")
    name = models.CharField(max_length=200)
    connection_type = models.PositiveSmallIntegerField(choices=sorted(routes.CONNECTION_TYPES.items()))
    solution_website = models.CharField(max_length=500, blank=True)
    deleted = models.BooleanField(default=False)
    date_created = models.DateTimeField(default=timezone.now)
    date_modified = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="sandbox_connection_name_per_user")]

    def __str__(self) -> str:
        return f"{self.name} ({self.user_id})"

    @property
    def channel_name(self) -> str:
        return routes.CONNECTION_TYPES.get(self.connection_type, "Unknown")


class ConnectionSetting(models.Model):
    connection = models.ForeignKey(UserConnection, on_delete=models.CASCADE, related_name="settings")
    name = models.CharField(max_length=100)
    value = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "name"], name="sandbox_setting_name")]

    def __str__(self) -> str:
        return self.name


class TaskStatus(models.TextChoices):
    """routes.TASK_STATUSES, as choices (a test keeps the two equal)."""

    IDLE = "Idle"
    QUEUED = "Queued"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"


ORDERS_TASK = 0


class ScheduledTask(models.Model):
    connection = models.ForeignKey(UserConnection, on_delete=models.CASCADE, related_name="scheduled_tasks")
    task_type = models.PositiveSmallIntegerField(choices=sorted(routes.TASK_TYPES.items()))
    enabled = models.BooleanField(default=True)
    interval_seconds = models.PositiveIntegerField(default=86400)
    status = models.CharField(max_length=20, choices=TaskStatus.choices, default=TaskStatus.IDLE)
    last_run_utc = models.DateTimeField(null=True, blank=True)
    next_run_utc = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "task_type"], name="sandbox_task_type")]

    def __str__(self) -> str:
        return f"{routes.TASK_TYPES.get(self.task_type, self.task_type)} on {self.connection_id}"


class TaskRun(models.Model):
    """One execution of a scheduled task: its run log entry."""

    ACTIVE = (TaskStatus.QUEUED, TaskStatus.RUNNING)

    task = models.ForeignKey(ScheduledTask, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=20, choices=TaskStatus.choices, default=TaskStatus.QUEUED)
    trigger = models.CharField(max_length=20, default="RunNow")
    queued_utc = models.DateTimeField()
    started_utc = models.DateTimeField(null=True, blank=True)
    finished_utc = models.DateTimeField(null=True, blank=True)
    orders_downloaded = models.PositiveIntegerField(default=0)
    orders_skipped = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)

    class Meta:
        # Every sandbox request looks for runs to move forward.
        indexes = [models.Index(fields=["status"], name="sandbox_run_status")]

    def __str__(self) -> str:
        return f"run {self.pk} of task {self.task_id}: {self.status}"


class ProductQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for product in objs:
            product.sku_key = sku_key(product.sku)
        return super().bulk_create(objs, *args, **kwargs)


class Product(models.Model):
    user = models.ForeignKey(ConnexUser, on_delete=models.CASCADE, related_name="products")
    connection = models.ForeignKey(UserConnection, on_delete=models.CASCADE, related_name="products")
    name = models.CharField(max_length=500)
    sku = models.CharField(max_length=200)
    # keys.sku_key(sku): what duplicate checks compare, as Connex's SQL Server collation would.
    sku_key = models.CharField(max_length=200, editable=False)
    description = models.TextField(blank=True)
    asin = models.CharField(max_length=50, blank=True)
    # The spec shows only productType 0 and never says what the numbers mean.
    product_type = models.SmallIntegerField(default=0)
    unit_value = models.DecimalField(**MONEY)
    unit_cost = models.DecimalField(**MONEY)
    sales_price = models.DecimalField(**MONEY)
    asset_value = models.DecimalField(**MONEY)
    average_cost = models.DecimalField(**MONEY)
    quantity_on_order = models.DecimalField(**MONEY)
    quantity_on_sales_order = models.DecimalField(**MONEY)
    quantity_on_hand = models.DecimalField(**MONEY)
    quantity = models.DecimalField(**MONEY)
    reorder_point = models.IntegerField(default=0)
    max_quantity = models.IntegerField(default=0)
    time_until_restock = models.IntegerField(default=0)
    days_to_receive = models.IntegerField(default=0)
    unit = models.IntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    is_manual = models.BooleanField(default=False)
    has_unknown_sku = models.BooleanField(default=False)
    internal_note = models.TextField(blank=True)
    image_urls = models.JSONField(default=list, blank=True)
    category_id = models.IntegerField(default=0)
    category_name = models.CharField(max_length=200, blank=True)
    sub_category_ids = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ProductQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "sku_key"], name="sandbox_product_sku_key")]
        # What list-products filters and sorts on; every sort ends in id, so each index ends in it too.
        indexes = [
            models.Index(fields=["user", "id"], name="sandbox_product_user"),
            models.Index(fields=["connection", "id"], name="sandbox_product_connection"),
            models.Index(fields=["user", "has_unknown_sku", "connection"], name="sandbox_product_unknown"),
            models.Index(fields=["user", "is_manual", "id"], name="sandbox_product_manual"),
            models.Index(fields=["user", "name", "id"], name="sandbox_product_name"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} ({self.name})"

    def save(self, *args, **kwargs) -> None:
        self.sku_key = sku_key(self.sku)
        super().save(*args, **kwargs)


class OrderQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for order in objs:
            order.number_key = order_key(order.order_number)
        return super().bulk_create(objs, *args, **kwargs)

    def visible(self, now):
        """Orders a list can show at ``now``: not those of a batch still landing (fault ``commit_late``)."""
        return self.filter(models.Q(visible_after__isnull=True) | models.Q(visible_after__lte=now))


class Order(models.Model):
    user = models.ForeignKey(ConnexUser, on_delete=models.CASCADE, related_name="orders")
    connection = models.ForeignKey(UserConnection, on_delete=models.CASCADE, related_name="orders")
    order_number = models.CharField(max_length=100)
    # keys.order_key(order_number): what duplicate checks and lookups compare.
    number_key = models.CharField(max_length=100, editable=False)
    order_date = models.DateTimeField()
    customer_name = models.CharField(max_length=300)
    channel_name = models.CharField(max_length=100, blank=True)
    order_type = models.PositiveSmallIntegerField(choices=sorted(ORDER_TYPES.items()), default=0)
    deleted = models.BooleanField(default=False)
    order_total = models.DecimalField(**MONEY)
    total_tax = models.DecimalField(**MONEY)
    total_excl_tax = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    discount_excl_tax = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    discount_incl_tax = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    shipping_excl_tax = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    shipping_incl_tax = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    ship_date = models.DateTimeField(null=True, blank=True)
    shipping_method = models.CharField(max_length=100, blank=True)
    shipping_region = models.CharField(max_length=100, blank=True)
    shipping_country = models.CharField(max_length=10, blank=True)
    creation_date = models.DateTimeField(null=True, blank=True)
    credit_card_name = models.CharField(max_length=100, blank=True)
    billing_address = models.JSONField(null=True, blank=True)
    shipping_address = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Set by the fault ``commit_late``: stored, but no list or duplicate check sees it before then.
    visible_after = models.DateTimeField(null=True, blank=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        # Not unique: with CONNEX_SANDBOX_ACCEPT_DUPLICATES the sandbox stores a number twice,
        # as a Connex that does not check would; createorders checks under a lock otherwise.
        indexes = [
            models.Index(fields=["user", "order_date", "id"], name="sandbox_order_date"),
            models.Index(fields=["connection", "order_date", "id"], name="sandbox_order_conn_date"),
            models.Index(fields=["connection", "number_key"], name="sandbox_order_number_key"),
        ]

    def __str__(self) -> str:
        return self.order_number

    def save(self, *args, **kwargs) -> None:
        self.number_key = order_key(self.order_number)
        super().save(*args, **kwargs)


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=500, blank=True)
    sku = models.CharField(max_length=200, blank=True)
    quantity = models.DecimalField(**MONEY)
    price_excl_tax = models.DecimalField(**MONEY)
    price_incl_tax = models.DecimalField(**MONEY)
    vendor = models.CharField(max_length=200, blank=True)
    has_known_sku = models.BooleanField(default=True)
    options = models.JSONField(default=list, blank=True)
    custom_fields = models.JSONField(default=list, blank=True)
    jma_custom_fields = models.JSONField(default=list, blank=True)
    categories = models.JSONField(default=list, blank=True)
    fees = models.JSONField(default=dict, blank=True)
    order_numbers_for_item_summary = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["order", "position"]
        constraints = [models.UniqueConstraint(fields=["order", "position"], name="sandbox_order_line_position")]

    def __str__(self) -> str:
        return f"{self.sku} x {self.quantity}"


class FaultProfile(models.Model):
    """Injected faults for one account, or for every account (``username`` empty).

    Kept in the database so that a test process can set faults for a sandbox served by
    another process (``runsandbox``, gunicorn workers). ``spec`` uses the
    CONNEX_SANDBOX_FAULTS syntax (faults.py).
    """

    username = models.CharField(max_length=254, unique=True, blank=True)
    spec = models.TextField()
    # Matching requests seen so far: the index into the profile's deterministic sequence.
    draws = models.PositiveBigIntegerField(default=0)
    # For ``next=N``: matching requests still to affect; NULL when unlimited.
    remaining = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.username or '(every account)'}: {self.spec}"

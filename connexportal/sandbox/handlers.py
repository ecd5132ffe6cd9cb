"""One function per Connex route: read the body, do the work, answer in Connex's shape.

Each takes the ``Call`` the dispatcher (views.py) built once it has authenticated the
caller, and raises ``Problem`` for anything it refuses. Every query is scoped to the
caller: no call can read or change another user's data, and a connection id that is
not the caller's is answered exactly like one that does not exist.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse

from connexportal.connex import routes
from connexportal.connex.keys import order_key, sku_key
from connexportal.sandbox import auth, conf, faults, paging, runs, serializers, wire
from connexportal.sandbox.models import (
    ORDER_TYPES,
    ORDERS_TASK,
    ConnectionSetting,
    ConnexUser,
    Order,
    OrderLine,
    Product,
    ScheduledTask,
    TaskRun,
    UserConnection,
)
from connexportal.sandbox.problems import FieldErrors, Problem, unauthorized
from connexportal.sandbox.validation import FieldReader

RUN_LOGS_SHOWN = 10
# productType's meaning is undocumented; it is stored as a smallint.
PRODUCT_TYPE_MAX = 32767

PRODUCT_SORTS = {
    "id": "id",
    "name": "name",
    "sku": "sku",
    "salesPrice": "sales_price",
    "unitCost": "unit_cost",
    "averageCost": "average_cost",
    "quantityOnHand": "quantity_on_hand",
    "quantity": "quantity",
    "productType": "product_type",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
}
ORDER_SORTS = {
    "id": "id",
    "orderDate": "order_date",
    "orderNumber": "order_number",
    "customerName": "customer_name",
    "channel": "channel_name",
    "totalProductSales": "order_total",
}
# The spec's samples list products newest first and orders by date, newest first.
DEFAULT_PRODUCT_SORT = paging.Sort("id", descending=True)
DEFAULT_ORDER_SORT = paging.Sort("order_date", descending=True)

_WINDOW_NAMES = frozenset(name.lower() for pair in routes.WINDOW_SETTINGS for name in pair)
_ADDRESS_FIELDS = (
    "address1",
    "address2",
    "city",
    "company",
    "countryName",
    "email",
    "firstName",
    "fullName",
    "lastName",
    "phoneNumber",
    "postalCode",
    "regionName",
    "twoLetterIsoCode",
)


@dataclass(frozen=True, slots=True)
class Call:
    request: HttpRequest
    body: Any
    user: ConnexUser | None
    now: datetime
    # Only createorders honours it: store (part of) the batch, then the dispatcher answers a failure.
    commit: faults.CommitFault | None = None


def _object(body: Any) -> dict:
    if not isinstance(body, dict):
        raise Problem(400, "The request body must be a JSON object.", errors={"$": ["Expected a JSON object."]})
    return body


def _own_connection(user: ConnexUser, connection_id: int | None, reader: FieldReader, name: str):
    """The caller's live connection ``connection_id``, or an error on ``name`` (None)."""
    if connection_id is None:
        return None
    connection = (
        UserConnection.objects.select_related("user").filter(pk=connection_id, user=user, deleted=False).first()
    )
    if connection is None:
        reader.error(name, f"User connection {connection_id} is not one of your connections.")
    return connection


# --- account -----------------------------------------------------------------------------


def login(call: Call) -> HttpResponse:
    """routes.LOGIN and routes.LOGIN_FALLBACK: keys in any case, LOGIN_RESPONSE_EXAMPLE back."""
    errors = FieldErrors()
    reader = FieldReader(_object(call.body), errors)
    username = reader.string("Username", required=True)
    password = reader.string("Password", required=True)
    errors.raise_if_any()
    user = auth.check_credentials(username, password)
    if user is None:
        raise unauthorized("The username or password is incorrect.")
    raw, token = auth.issue_token(user, now=call.now)
    return wire.json_response({"token": raw, "expiration": wire.timestamp_z(token.expires_at)})


# --- connections page --------------------------------------------------------------------


def list_connections(call: Call) -> HttpResponse:
    connections = list(
        UserConnection.objects.filter(user=call.user, deleted=False).select_related("user").order_by("id")
    )
    settings: dict[int, list[ConnectionSetting]] = defaultdict(list)
    for row in ConnectionSetting.objects.filter(connection__in=connections).order_by("id"):
        settings[row.connection_id].append(row)
    tasks: dict[int, list[dict]] = defaultdict(list)
    recent_runs = Prefetch("runs", queryset=TaskRun.objects.order_by("-id")[:RUN_LOGS_SHOWN], to_attr="recent")
    for task in ScheduledTask.objects.filter(connection__in=connections).prefetch_related(recent_runs).order_by("id"):
        tasks[task.connection_id].append(serializers.scheduled_task(task, task.recent))
    return wire.json_response([serializers.listed_connection(c, settings[c.pk], tasks[c.pk]) for c in connections])


def _setting_value(item: dict, index: int, name: str, errors: FieldErrors) -> str | None:
    reader = FieldReader(item, errors, key_prefix=f"Settings[{index}].")
    if not reader.has("Value"):
        reader.error("Value", f'The Value of {name} is required; send "" to clear it.')
        return None
    value = reader.data["value"]
    if isinstance(value, bool):
        return "true" if value else "false"
    return reader.string("Value")


def _check_windows(sent: dict[str, tuple[int, str]], effective: dict[str, str], errors: FieldErrors) -> None:
    """Each window's sent bounds must parse, and its start must not be after its end."""
    parsed: dict[str, datetime] = {}
    for key, (index, value) in sent.items():
        if key in _WINDOW_NAMES and value.strip():
            try:
                parsed[key] = wire.parse_timestamp(value)
            except ValueError:
                errors.add(
                    f"Settings[{index}].Value",
                    f"{value!r} is not a date and time; use e.g. 2024-09-01T00:00:00 (UTC).",
                )
    for start_name, end_name in routes.WINDOW_SETTINGS:
        start_key, end_key = start_name.lower(), end_name.lower()
        if start_key not in sent and end_key not in sent:
            continue
        bounds = []
        for key in (start_key, end_key):
            if key in parsed:
                bounds.append(parsed[key])
            elif key not in sent and effective.get(key, "").strip():
                try:
                    bounds.append(wire.parse_timestamp(effective[key]))
                except ValueError:
                    continue
        if len(bounds) == 2 and bounds[0] > bounds[1]:
            index = sent[start_key][0] if start_key in sent else sent[end_key][0]
            errors.add(
                f"Settings[{index}].Value",
                f"{start_name} ({wire.setting_timestamp(bounds[0])}) must not be after "
                f"{end_name} ({wire.setting_timestamp(bounds[1])}).",
            )


def update_settings(call: Call) -> HttpResponse:
    """Change only the settings sent (names in any case; new names are stored as sent)."""
    errors = FieldErrors()
    reader = FieldReader(_object(call.body), errors)
    connection_id = reader.integer("UserConnectionId", required=True, default=None)
    items = reader.array("Settings")
    connection = _own_connection(call.user, connection_id, reader, "UserConnectionId")
    if not items and not errors:
        reader.error("Settings", "Send at least one setting to update.")
    sent: dict[str, tuple[int, str]] = {}
    names: dict[str, str] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.add(f"Settings[{index}]", "Each setting must be an object with a name and a value.")
            continue
        name = FieldReader(item, errors, key_prefix=f"Settings[{index}].").string("Name", required=True)
        if not name.strip():
            continue
        name = name.strip()
        if name.lower() in sent:
            errors.add(f"Settings[{index}].Name", f"The setting {name} is sent twice.")
            continue
        value = _setting_value(item, index, name, errors)
        if value is not None:
            sent[name.lower()] = (index, value)
            names[name.lower()] = name
    if connection is None:
        errors.raise_if_any()
    existing = {row.name.lower(): row for row in ConnectionSetting.objects.filter(connection=connection)}
    effective = {key: row.value for key, row in existing.items()}
    _check_windows(sent, effective, errors)
    if "summarytransactiongroupby" in sent:
        index, value = sent["summarytransactiongroupby"]
        if value.strip() not in {str(number) for number in routes.SUMMARY_GROUP_BY}:
            allowed = ", ".join(f"{number} ({label})" for number, label in routes.SUMMARY_GROUP_BY.items())
            errors.add(
                f"Settings[{index}].Value", f"SummaryTransactionGroupBy {value!r} is not valid; use one of {allowed}."
            )
    errors.raise_if_any()
    with transaction.atomic():
        for key, (_, value) in sent.items():
            row = existing.get(key) or ConnectionSetting(connection=connection, name=names[key])
            row.value = value.strip() if key == "summarytransactiongroupby" else value
            row.save()
        UserConnection.objects.filter(pk=connection.pk).update(date_modified=call.now)
    rows = ConnectionSetting.objects.filter(connection=connection).order_by("id")
    return wire.json_response(
        {"userConnectionId": connection.pk, "connectionSettings": [serializers.setting(row) for row in rows]}
    )


def run_now(call: Call) -> HttpResponse:
    """Queue a run (202, RUN_NOW_RESPONSE_EXAMPLE); it progresses as later requests arrive."""
    errors = FieldErrors()
    reader = FieldReader(_object(call.body), errors)
    connection_id = reader.integer("UserConnectionId", required=True, default=None)
    task_id = reader.integer("ScheduledTaskId", default=None)
    connection = _own_connection(call.user, connection_id, reader, "UserConnectionId")
    errors.raise_if_any()
    tasks = ScheduledTask.objects.filter(connection=connection)
    task = tasks.filter(pk=task_id).first() if task_id else tasks.filter(task_type=ORDERS_TASK).first()
    if task is None:
        detail = (
            f"Scheduled task {task_id} was not found on user connection {connection.pk}."
            if task_id
            else f"User connection {connection.pk} has no Orders task; send the scheduledTaskId to run."
        )
        raise Problem(404, detail)
    run = runs.queue_run(task, now=call.now)
    return wire.json_response(
        {
            "userConnectionId": connection.pk,
            "scheduledTaskId": task.pk,
            "runId": run.pk,
            "status": run.status,
            "queuedUtc": wire.timestamp(run.queued_utc),
        },
        status=202,
    )


# --- lists -------------------------------------------------------------------------------


def list_products(call: Call) -> HttpResponse:
    """The spec's list-products body and response.

    Inferred: ``isManual`` and ``onlyFetchUnknownSkusProducts`` filter only when true
    (the spec's sample sends false and lists non-manual products), and
    ``unknownSkusCount`` counts the unknown-SKU products of the selected connection
    (of all of them for 0), whatever the other filters.
    """
    errors = FieldErrors()
    reader = FieldReader(_object(call.body), errors)
    number, size = paging.page_numbers(reader.integer("PageNumber", default=1), reader.integer("PageSize"), errors)
    search = reader.string("SearchText", max_length=200).strip()
    sort = paging.parse_sort(
        reader.string("OrderBy"),
        reader.string("Direction"),
        columns=PRODUCT_SORTS,
        default=DEFAULT_PRODUCT_SORT,
        errors=errors,
    )
    manual_only = reader.boolean("IsManual")
    unknown_only = reader.boolean("OnlyFetchUnknownSkusProducts")
    product_type = reader.integer("ProductType", default=None, minimum=0, maximum=PRODUCT_TYPE_MAX)
    connection_id = reader.integer("UserConnectionId", minimum=0)
    if connection_id:
        _own_connection(call.user, connection_id, reader, "UserConnectionId")
    errors.raise_if_any()

    # A selected connection was checked to be the caller's above; filtering on it alone lets
    # the database use the (connection, id) index instead of walking all the user's rows.
    matching = Product.objects.filter(connection_id=connection_id) if connection_id else call.user.products.all()
    unknown = Product.objects.filter(user=call.user, has_unknown_sku=True)
    unknown_count = (unknown.filter(connection_id=connection_id) if connection_id else unknown).count()
    if manual_only:
        matching = matching.filter(is_manual=True)
    if unknown_only:
        matching = matching.filter(has_unknown_sku=True)
    if product_type is not None:
        matching = matching.filter(product_type=product_type)
    if search:
        matching = matching.filter(Q(name__icontains=search) | Q(sku__icontains=search))
    total = matching.count()
    rows = paging.page(matching, sort=sort, number=number, size=size, total=total)

    connections = UserConnection.objects.select_related("user").filter(pk__in={row.connection_id for row in rows})
    embedded = {c.pk: (c, serializers.embedded_connection(c)) for c in connections}
    products = [serializers.product(row, *embedded[row.connection_id]) for row in rows]
    return wire.json_response(
        {"lstProducts": products, "unknownSkusCount": unknown_count, "objMetaData": paging.metadata(total, size)}
    )


def _query_date(reader: FieldReader, name: str) -> datetime | None:
    text = reader.string(name).strip()
    if not text:
        return None
    try:
        return datetime.combine(wire.parse_query_date(text), time(), tzinfo=UTC)
    except ValueError:
        reader.error(name, f"{name} {text!r} is not a date; use MM/DD/YYYY, e.g. 09/05/2024.")
        return None


def list_orders(call: Call) -> HttpResponse:
    """The spec's list-orders body and response; beginDate..endDate are whole UTC days, both included."""
    errors = FieldErrors()
    reader = FieldReader(_object(call.body), errors)
    begin = _query_date(reader, "BeginDate")
    end = _query_date(reader, "EndDate")
    if begin and end and begin > end:
        reader.error("BeginDate", "BeginDate must not be after EndDate.")
    number, size = paging.page_numbers(reader.integer("PageNumber", default=1), reader.integer("PageSize"), errors)
    search = reader.string("SearchText", max_length=200).strip()
    sort = paging.parse_sort(
        reader.string("OrderBy"),
        reader.string("Direction"),
        columns=ORDER_SORTS,
        default=DEFAULT_ORDER_SORT,
        errors=errors,
    )
    connection_id = reader.integer("UserConnectionId", minimum=0)
    if connection_id:
        _own_connection(call.user, connection_id, reader, "UserConnectionId")
    errors.raise_if_any()

    # As for products: a selected connection is the caller's, and filtering on it alone uses its index.
    matching = Order.objects.filter(connection_id=connection_id) if connection_id else call.user.orders.all()
    matching = matching.filter(deleted=False).visible(call.now)
    if begin:
        matching = matching.filter(order_date__gte=begin)
    if end:
        matching = matching.filter(order_date__lt=end + timedelta(days=1))
    if search:
        matching = matching.filter(Q(order_number__icontains=search) | Q(customer_name__icontains=search))
    total = matching.count()
    rows = paging.page(matching, sort=sort, number=number, size=size, total=total)
    lines: dict[int, list[OrderLine]] = defaultdict(list)
    for line in OrderLine.objects.filter(order__in=[row.pk for row in rows]).order_by("order_id", "position"):
        lines[line.order_id].append(line)
    return wire.json_response(
        {
            "lstAllOrders": [serializers.order(row, lines[row.pk]) for row in rows],
            "objMetaData": paging.metadata(total, size),
        }
    )


# --- writes ------------------------------------------------------------------------------


def _check_reporting_user(reader: FieldReader, user: ConnexUser) -> None:
    reporting_user_id = reader.guid("ReportingUserId", required=True)
    if reporting_user_id is not None and reporting_user_id != user.reporting_user_id:
        reader.error(
            "ReportingUserId",
            f"ReportingUserId {reporting_user_id} is not yours; send {user.reporting_user_id}.",
        )


def add_product(call: Call) -> HttpResponse:
    """Create one product; answers the plain text ``Added Successfully`` as the spec shows."""
    if call.user.read_only:
        raise Problem(
            403,
            f"The account {call.user.username} cannot create products (Connex's demo account is read-only); "
            "use your own Connex account.",
        )
    errors = FieldErrors()
    reader = FieldReader(_object(call.body), errors)
    _check_reporting_user(reader, call.user)
    connection = _own_connection(
        call.user, reader.integer("UserConnectionId", required=True, default=None), reader, "UserConnectionId"
    )
    categories = FieldReader(reader.obj("ObjProductCategories") or {}, errors, key_prefix="ObjProductCategories.")
    sub_categories = []
    for index, item in enumerate(categories.array("SubCategoryIds")):
        if isinstance(item, dict):
            sub_reader = FieldReader(item, errors, key_prefix=f"ObjProductCategories.SubCategoryIds[{index}].")
            sub_categories.append({"categoryId": sub_reader.integer("CategoryId")})
        else:
            errors.add(f"ObjProductCategories.SubCategoryIds[{index}]", "Expected an object with a categoryId.")
    product = Product(
        user=call.user,
        connection=connection,
        name=reader.string("Name", required=True, max_length=500).strip(),
        sku=reader.string("Sku", required=True, max_length=200).strip(),
        description=reader.string("Description"),
        asin=reader.string("Asin", max_length=50),
        product_type=reader.integer("ProductType", minimum=0, maximum=PRODUCT_TYPE_MAX),
        unit_value=reader.decimal("UnitValue"),
        unit_cost=reader.decimal("UnitCost"),
        sales_price=reader.decimal("SalesPrice"),
        asset_value=reader.decimal("AssetValue"),
        average_cost=reader.decimal("AverageCost"),
        quantity_on_order=reader.decimal("QuantityOnOrder"),
        quantity_on_sales_order=reader.decimal("QuantityOnSalesOrder"),
        quantity_on_hand=reader.decimal("QuantityOnHand"),
        quantity=reader.decimal("Quantity"),
        reorder_point=reader.integer("ReorderPoint"),
        max_quantity=reader.integer("MaxQuantity"),
        time_until_restock=reader.integer("TimeUntilRestock"),
        days_to_receive=reader.integer("DaystoReceive"),
        unit=reader.integer("Unit", default=None),
        is_active=reader.boolean("IsActive", default=True),
        is_manual=reader.boolean("IsManual"),
        internal_note=reader.string("InternalNote"),
        image_urls=reader.strings("ImageUrls"),
        category_id=categories.integer("CategoryId"),
        sub_category_ids=sub_categories or None,
        created_at=call.now,
        updated_at=call.now,
    )
    errors.raise_if_any()
    duplicate = Problem(
        409,
        f"A product with SKU {product.sku!r} already exists on user connection {connection.pk}.",
        errors={"Sku": [f"The SKU {product.sku!r} is already used on user connection {connection.pk}."]},
    )
    if Product.objects.filter(connection=connection, sku_key=sku_key(product.sku)).exists():
        raise duplicate
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError:
        raise duplicate from None
    return wire.text_response(routes.ADD_PRODUCT_OK_TEXT)


def _address(reader: FieldReader, name: str) -> dict | None:
    data = reader.obj(name)
    if data is None:
        return None
    fields = FieldReader(data, reader.errors, key_prefix=f"{reader.key_prefix}{name}.", context=reader.context)
    return {field: fields.string(field[0].upper() + field[1:]) for field in _ADDRESS_FIELDS}


def _named_values(reader: FieldReader, name: str, fields: tuple[str, ...]) -> list[dict]:
    """An array of small objects (options, custom fields), kept as camelCase dicts of JSON values."""
    values = []
    for index, item in enumerate(reader.array(name)):
        if not isinstance(item, dict):
            reader.error(f"{name}[{index}]", "Expected an object.")
            continue
        lowered = {str(key).lower(): value for key, value in item.items()}
        values.append({field: _plain(lowered.get(field.lower())) for field in fields})
    return values


def _plain(value: Any) -> Any:
    """A parsed JSON value as the database's JSON columns take it (their encoder knows no Decimal)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _order_lines(reader: FieldReader) -> list[OrderLine]:
    lines = []
    for index, item in enumerate(reader.array("OrderDetails")):
        if not isinstance(item, dict):
            reader.error(f"OrderDetails[{index}]", "Each order detail must be an object.")
            continue
        line = FieldReader(
            item, reader.errors, key_prefix=f"{reader.key_prefix}OrderDetails[{index}].", context=reader.context
        )
        fees = line.obj("Fees") or {}
        # A dictionary, not an object: its keys are data and keep their case.
        amounts = FieldReader(fees, reader.errors, key_prefix=f"{line.key_prefix}Fees.", context=reader.context)
        lines.append(
            OrderLine(
                position=index,
                name=line.string("Name", max_length=500),
                sku=line.string("Sku", max_length=200),
                quantity=line.decimal("Quantity"),
                price_excl_tax=line.decimal("PriceExclTax"),
                price_incl_tax=line.decimal("PriceInclTax"),
                vendor=line.string("Vendor", max_length=200),
                has_known_sku=line.boolean("HasKnownSKU", default=True),
                options=_named_values(line, "Options", ("name", "value", "sku", "quantity")),
                custom_fields=_named_values(line, "CustomFields", ("name", "value", "orderNumber", "mapped")),
                jma_custom_fields=_named_values(line, "JmaCustomFields", ("name", "value", "orderNumber", "mapped")),
                categories=line.strings("Categories"),
                fees={name: _plain(amounts.decimal(name)) for name in fees},
                order_numbers_for_item_summary=line.strings("OrderNumbersForItemSummary"),
            )
        )
    return lines


def create_orders(call: Call) -> HttpResponse:
    """Up to 100 orders, all or nothing; answers the spec's not-quite-JSON text.

    Order numbers are compared by keys.order_key, within the batch and against the
    stored ones, unless conf.accept_duplicates(): then every valid order is stored, as
    by a Connex that does not check. Under a commit fault only the first part of the
    batch (``committed``) is stored, possibly invisible for a while (``commit_late``).
    """
    body = call.body
    if not isinstance(body, list):
        raise Problem(400, "The request body must be a JSON array of orders.", errors={"$": ["Expected an array."]})
    count = len(body)
    if count == 0:
        raise Problem(400, "Send at least one order.", errors={"$": ["The array of orders is empty."]})
    if count > routes.CREATE_ORDERS_MAX_BATCH:
        message = f"createorders takes at most {routes.CREATE_ORDERS_MAX_BATCH} orders at a time; got {count}."
        raise Problem(400, message, errors={"$": [message]})
    connections = {c.pk: c for c in UserConnection.objects.filter(user=call.user, deleted=False)}
    accept_duplicates = conf.accept_duplicates()
    errors = FieldErrors()
    orders: list[tuple[int, Order, list[OrderLine]]] = []
    first_seen: dict[tuple[int, str], int] = {}
    for index, item in enumerate(body):
        context = f"Order {index + 1} of {count}: "
        if not isinstance(item, dict):
            errors.add(f"[{index}]", "Each order must be a JSON object.", summary=f"{context}not a JSON object.")
            continue
        reader = FieldReader(item, errors, key_prefix=f"[{index}].", context=context)
        _check_reporting_user(reader, call.user)
        connection_id = reader.integer("UserConnectionId", required=True, default=None)
        connection = connections.get(connection_id)
        if connection_id is not None and connection is None:
            reader.error("UserConnectionId", f"User connection {connection_id} is not one of your connections.")
        order = Order(
            user=call.user,
            connection=connection,
            order_total=reader.decimal("OrderTotal", required=True),
            total_tax=reader.decimal("TotalTax", required=True),
            order_date=reader.timestamp("OrderDate", required=True),
            order_number=reader.string("OrderNumber", required=True, max_length=100).strip(),
            customer_name=reader.string("CustomerName", required=True, max_length=300).strip(),
            order_type=reader.enum("OrderType", ORDER_TYPES, required=True),
            deleted=reader.boolean("Deleted", required=True),
            ship_date=reader.timestamp("ShipDate"),
            shipping_method=reader.string("ShippingMethod", max_length=100),
            shipping_region=reader.string("ShippingTwoLetterRegionName", max_length=100),
            shipping_country=reader.string("ShippingTwoLetterIso", max_length=10),
            channel_name=reader.string("ChannelName", max_length=100),
            creation_date=reader.timestamp("CreationDate"),
            credit_card_name=reader.string("CreditCardName", max_length=100),
            discount_excl_tax=reader.decimal("DiscountExclTax", default=None),
            discount_incl_tax=reader.decimal("DiscountInclTax", default=None),
            shipping_excl_tax=reader.decimal("ShippingExclTax", default=None),
            shipping_incl_tax=reader.decimal("ShippingInclTax", default=None),
            total_excl_tax=reader.decimal("TotalExclTax", default=None),
            billing_address=_address(reader, "BillingAddress"),
            shipping_address=_address(reader, "ShippingAddress"),
            created_at=call.now,
        )
        if connection is not None and not order.channel_name:
            order.channel_name = connection.channel_name
        lines = _order_lines(reader)
        if connection is not None and order.order_number and not accept_duplicates:
            key = (connection.pk, order_key(order.order_number))
            if key in first_seen:
                reader.error(
                    "OrderNumber",
                    f"Order number {order.order_number!r} is sent twice on user connection {connection.pk} "
                    f"(orders {first_seen[key] + 1} and {index + 1}).",
                )
            else:
                first_seen[key] = index
        orders.append((index, order, lines))
    errors.raise_if_any()

    if call.commit is not None:
        orders = orders[: call.commit.stored_count(count)]
        visible_after = call.commit.visible_after(call.now)
        for _, order, _ in orders:
            order.visible_after = visible_after
    with transaction.atomic():
        # One createorders at a time per connection: the duplicate check and the insert are one step.
        list(UserConnection.objects.select_for_update().filter(pk__in=sorted(connections)).values_list("pk"))
        if not accept_duplicates:
            _refuse_existing(orders, count, now=call.now)
        saved = Order.objects.bulk_create([order for _, order, _ in orders])
        for row, (_, _, lines) in zip(saved, orders, strict=True):
            for line in lines:
                line.order = row
        OrderLine.objects.bulk_create([line for _, _, lines in orders for line in lines], batch_size=1000)
    return wire.text_response(routes.CREATE_ORDERS_OK_TEXT)


def _refuse_existing(orders: list[tuple[int, Order, list[OrderLine]]], count: int, *, now: datetime) -> None:
    """409 naming every order whose number (keys.order_key) its connection already shows."""
    conflicts = FieldErrors()
    by_connection: dict[int, dict[str, tuple[int, str]]] = defaultdict(dict)
    for index, order, _ in orders:
        by_connection[order.connection_id][order_key(order.order_number)] = (index, order.order_number)
    for connection_id, sent in by_connection.items():
        taken = Order.objects.visible(now).filter(connection_id=connection_id, number_key__in=list(sent))
        for index, number in sorted({sent[key] for key in taken.values_list("number_key", flat=True)}):
            conflicts.add(
                f"[{index}].OrderNumber",
                f"Order number {number!r} already exists on user connection {connection_id}.",
                summary=f"Order {index + 1} of {count}: order number {number!r} already exists "
                f"on user connection {connection_id}.",
            )
    conflicts.raise_if_any(status=409, title="One or more orders already exist.")

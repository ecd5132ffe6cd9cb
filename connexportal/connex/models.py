"""Pydantic models of every Connex request and response body.

Wire conventions, all from the spec's samples:

- Keys are camelCase when serialized; when reading, camelCase, PascalCase (what
  ASP.NET emits with its naming policy off, and what the spec's tables use) and
  the Python snake_case names are all accepted. Unknown keys are ignored; every
  key the spec or ``routes`` shows is declared, so none is dropped silently.
- Money and quantities are ``Decimal``. Connex sends some numbers as strings
  (``"ShippingExclTax": "2"``); those parse too. JSON numbers are read through
  pydantic-core's float parser (pydantic/pydantic#9180), which keeps every value
  of up to 15 significant digits exact; that covers any realistic amount.
- Timestamps come with up to 7 fractional digits and no zone and mean UTC; they
  become aware UTC datetimes (a 'Z' or an offset is honoured and converted).
- The list-orders query takes dates as ``MM/DD/YYYY``.

Models are frozen; build a changed one with ``model_copy(update=...)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import IntEnum
from typing import Annotated, Any, ClassVar, Final
from uuid import UUID

from pydantic import (
    AfterValidator,
    AliasChoices,
    AliasGenerator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SecretStr,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from . import routes
from .tokens import believable_expiry


def _pascal(camel: str) -> str:
    return camel[:1].upper() + camel[1:]


def _wire_aliases(*names: str) -> AliasChoices:
    choices: list[str] = []
    for name in names:
        for variant in (name, _pascal(name)):
            if variant not in choices:
                choices.append(variant)
    return AliasChoices(*choices)


def wire(name: str, *more_names: str, **field_kwargs: Any) -> Any:
    """A field whose key on the wire is ``name`` (camelCase), read also as its PascalCase and ``more_names``."""
    return Field(validation_alias=_wire_aliases(name, *more_names), serialization_alias=name, **field_kwargs)


class ConnexModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=AliasGenerator(
            validation_alias=lambda name: _wire_aliases(to_camel(name)),
            serialization_alias=to_camel,
        ),
        validate_by_alias=True,
        validate_by_name=True,
        serialize_by_alias=True,
        # A validation error must not echo its input: settings and logins carry secrets.
        hide_input_in_errors=True,
        extra="ignore",
        frozen=True,
    )


# --- Scalar types ------------------------------------------------------------------------


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00:00+02:00 has no UTC equivalent; pydantic reports a ValueError as invalid input.
        raise ValueError("the timestamp is outside the range of UTC datetimes") from None


def _decimal_for_json(value: Decimal) -> int | float | str:
    # Sent as a JSON number, which every ASP.NET binder accepts. float(value) is exact on
    # the wire whenever its shortest repr reads back as the same decimal (always, for
    # money); anything longer goes as a string, which Connex also binds (spec sample).
    if value == value.to_integral_value() and abs(value) < 2**53:
        return int(value)
    as_float = float(value)
    if Decimal(repr(as_float)) == value:
        return as_float
    return str(value)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]
Money = Annotated[
    Decimal,
    Field(allow_inf_nan=False),
    PlainSerializer(_decimal_for_json, when_used="json"),
]
Quantity = Money


def _parse_query_date(value: Any) -> Any:
    if isinstance(value, datetime):
        return _as_utc(value).date()
    if isinstance(value, str) and value.count("/") == 2:
        return datetime.strptime(value, routes.ORDERS_QUERY_DATE_FORMAT).date()
    return value


# MM/DD/YYYY on the wire (spec); date objects, datetimes, ISO and MM/DD/YYYY strings in Python.
QueryDate = Annotated[
    date,
    BeforeValidator(_parse_query_date),
    PlainSerializer(lambda value: value.strftime(routes.ORDERS_QUERY_DATE_FORMAT), return_type=str),
]


class OrderType(IntEnum):
    """Order types of createorders (spec). Use WEB_ORDER for a sale, WEB_REFUND for a refund."""

    WEB_ORDER = 0
    WEB_REFUND = 1
    INVOICE = 2
    CREDIT_MEMO = 3
    SALES_ORDER = 4
    SALES_RECEIPT = 5
    REFUND_RECEIPT = 6


# --- Shared pieces -----------------------------------------------------------------------


class PageMeta(ConnexModel):
    total_rows: int = 0
    total_number_of_pages: int = 0


class ProblemDetails(ConnexModel):
    """ASP.NET's error body (RFC 7807/9457); ``errors`` maps a field to its messages."""

    type: str | None = None
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    instance: str | None = None
    errors: dict[str, list[str]] | None = None
    # Not ProblemDetails, but what hand-written ASP.NET error responses often carry instead.
    message: str | None = None

    @field_validator("errors", mode="before")
    @classmethod
    def _messages_as_lists(cls, value: Any) -> Any:
        # Some ASP.NET filters put one string per field instead of a list.
        if isinstance(value, Mapping):
            return {key: [item] if isinstance(item, str) else item for key, item in value.items()}
        return value


# --- Login -------------------------------------------------------------------------------


class LoginRequest(ConnexModel):
    username: str = Field(min_length=1)
    password: SecretStr

    def body(self, *, pascal_case: bool = False) -> dict[str, str]:
        """The login body; LOGIN_FALLBACK wants PascalCase keys (Connex help pages)."""
        user_key, password_key = routes.LOGIN_FALLBACK_KEYS if pascal_case else ("username", "password")
        return {user_key: self.username, password_key: self.password.get_secret_value()}


def _or_none(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    try:
        return handler(value)
    except ValidationError:
        return None


class LoginResponse(ConnexModel):
    """Login answer. INFERRED shape (routes.LOGIN_RESPONSE_EXAMPLE); tolerated variants:
    a bare JSON string, ``token`` / ``accessToken`` / ``access_token``, and a lifetime as
    ``expiration`` (timestamp) or ``expires_in`` (seconds)."""

    token: SecretStr = wire("token", "accessToken", "access_token", "jwt")
    # A lifetime that cannot be read leaves the token usable, with an unknown lifetime.
    expiration: Annotated[UtcDatetime | None, WrapValidator(_or_none)] = wire(
        "expiration", "expires", "expiresAt", default=None
    )
    expires_in: Annotated[float | None, WrapValidator(_or_none)] = wire("expires_in", "expiresIn", default=None)

    @model_validator(mode="before")
    @classmethod
    def _bare_string_is_the_token(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"token": data}
        return data

    @field_validator("token")
    @classmethod
    def _usable_as_bearer(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value()
        # RFC 6750 tokens are one printable word; anything else cannot go in a header.
        if not token or not token.isprintable() or any(char.isspace() for char in token):
            raise ValueError("not a bearer token")
        return value

    def expires_at(self, now: datetime) -> datetime | None:
        """The believable expiry (tokens.believable_expiry); None when unknown."""
        return believable_expiry(now, expires_at=self.expiration, expires_in=self.expires_in)


# --- Connections (shapes INFERRED: routes.LIST_CONNECTIONS_RESPONSE_EXAMPLE etc.) --------


class ConnectionSetting(ConnexModel):
    id: int | None = None
    user_connection_id: int | None = None
    name: str
    value: str | None = Field(default=None, coerce_numbers_to_str=True)

    @property
    def is_secret(self) -> bool:
        return self.name in routes.SECRET_SETTINGS

    def __repr_args__(self) -> Any:
        # Channel pairing secrets must never reach a log line through a repr.
        for name, value in super().__repr_args__():
            yield name, ("[secret]" if name == "value" and self.is_secret and value else value)


class RunLog(ConnexModel):
    id: int
    scheduled_task_id: int | None = None
    status: str | None = None
    trigger: str | None = None
    queued_utc: UtcDatetime | None = None
    started_utc: UtcDatetime | None = None
    finished_utc: UtcDatetime | None = None
    orders_downloaded: int | None = None
    orders_skipped: int | None = None
    message: str | None = None


class ScheduledTask(ConnexModel):
    id: int
    user_connection_id: int | None = None
    task_type: int | None = None
    task_type_name: str | None = None
    enabled: bool | None = None
    interval_seconds: int | None = None
    status: str | None = None
    last_run_utc: UtcDatetime | None = None
    next_run_utc: UtcDatetime | None = None
    run_logs: list[RunLog] = []

    @property
    def task_type_label(self) -> str | None:
        if self.task_type_name:
            return self.task_type_name
        return routes.TASK_TYPES.get(self.task_type) if self.task_type is not None else None


class UserConnection(ConnexModel):
    """A connection (Amazon, Shopify, a partner's integration ...), as listed and as embedded in products."""

    id: int
    reporting_user_id: UUID | None = None
    reporting_user: dict[str, Any] | None = None
    user_connection_name: str | None = None
    connection_type: int | None = None
    connection_type_id: int | None = None
    solution_website: str | None = None
    deleted: bool = False
    date_created: UtcDatetime | None = None
    date_modified: UtcDatetime | None = None
    connection_settings: list[ConnectionSetting] = []
    scheduled_tasks: list[ScheduledTask] = []
    # The spec shows these only empty; their element shapes are unknown, so they are kept as read.
    reporting_orders: list[Any] = []
    reports: list[Any] = []
    inventory_detail_logs: list[Any] = []
    notification_settings: list[Any] = []

    @property
    def connection_type_name(self) -> str | None:
        return routes.CONNECTION_TYPES.get(self.connection_type) if self.connection_type is not None else None

    def settings_by_name(self) -> dict[str, str | None]:
        return {setting.name: setting.value for setting in self.connection_settings}


CONNECTIONS_ADAPTER: Final = TypeAdapter(list[UserConnection])


class SettingValue(ConnexModel):
    name: str = Field(min_length=1)
    value: str


class UpdateSettingsRequest(ConnexModel):
    """Only the named settings change; Connex leaves every other setting as it is (INFERRED)."""

    user_connection_id: int
    settings: list[SettingValue] = Field(min_length=1)


class UpdateSettingsResponse(ConnexModel):
    user_connection_id: int
    connection_settings: list[ConnectionSetting] = []

    def settings_by_name(self) -> dict[str, str | None]:
        return {setting.name: setting.value for setting in self.connection_settings}


class RunNowRequest(ConnexModel):
    user_connection_id: int
    scheduled_task_id: int | None = None


class RunNowResponse(ConnexModel):
    user_connection_id: int
    scheduled_task_id: int | None = None
    run_id: int | None = None
    status: str | None = None
    queued_utc: UtcDatetime | None = None


# --- Products ----------------------------------------------------------------------------


class ProductQuery(ConnexModel):
    """List-products body (spec). ``page_size`` defaults to routes.DEFAULT_PAGE_SIZE."""

    page_number: int = Field(default=1, ge=1)
    page_size: int = Field(default=routes.DEFAULT_PAGE_SIZE, ge=1)
    search_text: str = ""
    order_by: str = ""
    direction: str = ""
    is_manual: bool = False
    only_fetch_unknown_skus_products: bool = False
    product_type: int | None = None
    user_connection_id: int = 0


class SubCategoryRef(ConnexModel):
    category_id: int = 0


class ProductCategories(ConnexModel):
    """``objProductCategories`` when adding a product, ``objCategoryIds`` when listing."""

    category_id: int = 0
    category_name: str | None = None
    sub_category_ids: list[SubCategoryRef] | None = None


class UserConnectionRef(ConnexModel):
    user_connection_id: int | None = None
    user_connection_name: str | None = None


class Product(ConnexModel):
    """One product of a products page (spec sample)."""

    id: int
    name: str | None = None
    description: str | None = None
    sku: str | None = None
    asin: str | None = None
    time_until_restock: int | None = None
    days_to_receive: int | None = wire("daystoReceive", "daysToReceive", default=None)
    product_type: int | None = None
    # Connex sends this misspelled twin of productType (always null in the spec); kept as read.
    product_typ: int | str | None = None
    unit_cost: Money | None = None
    asset_value: Money | None = None
    sales_price: Money | None = None
    average_cost: Money | None = None
    reorder_point: Quantity | None = None
    max_quantity: Quantity | None = None
    quantity_on_order: Quantity | None = None
    quantity_on_sales_order: Quantity | None = None
    quantity: Quantity | None = None
    quantity_on_hand: Quantity | None = None
    unit: int | str | None = None
    is_manual: bool | None = None
    channel_name: str | None = None
    user_connection: UserConnection | None = None
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None
    has_unknown_sku: bool | None = None
    internal_note: str | None = None
    image_url: str | None = None
    image_urls: list[str] | None = None
    categories: ProductCategories | None = wire("objCategoryIds", default=None)
    connection_ref: UserConnectionRef | None = wire("objUserConnectionViewModel", default=None)


class _Page(ConnexModel):
    """A page of a list call. Its list key is required: an object without it (a wrapper, an
    error object such as ``{"isSuccess": false}``, a key in another case) is not a page, and
    reading it as an empty one would make a lookup conclude that nothing exists. A ``null``
    list is an empty page only when ``objMetaData.totalRows`` agrees."""

    ROWS_KEY: ClassVar[str]
    ROWS_FIELD: ClassVar[str]

    meta: PageMeta = wire("objMetaData", default=PageMeta())

    @property
    def rows(self) -> list[Any]:
        raise NotImplementedError

    @property
    def has_meta(self) -> bool:
        return "meta" in self.model_fields_set

    @property
    def total_rows(self) -> int | None:
        """``objMetaData.totalRows`` when Connex sent it."""
        return self.meta.total_rows if self.has_meta and "total_rows" in self.meta.model_fields_set else None

    @model_validator(mode="after")
    def _rows_agree_with_total(self) -> _Page:
        total = self.total_rows
        if self.rows is None:
            # Checked here, after the page is read, not on the raw answer: a "before" validator
            # would make pydantic turn the whole JSON answer into Python objects first (2x slower).
            if total != 0:
                raise ValueError(f"{self.ROWS_KEY} is null on a page of a list of totalRows {total}")
            return self.model_copy(update={self.ROWS_FIELD: []})
        if total is not None and len(self.rows) > total:
            raise ValueError(f"{len(self.rows)} rows on a page of a list of totalRows {total}")
        return self


class ProductsPage(_Page):
    ROWS_KEY = "lstProducts"
    ROWS_FIELD = "products"

    products: list[Product] | None = wire(ROWS_KEY)  # never None once read: _rows_agree_with_total
    unknown_skus_count: int = 0

    @property
    def rows(self) -> list[Product]:
        return self.products


class NewProduct(ConnexModel):
    """Body of api/products/add (spec sample); defaults are the sample's."""

    id: int = 0
    reporting_user_id: UUID
    user_connection_id: int
    name: str = Field(min_length=1)
    sku: str = Field(min_length=1)
    description: str = ""
    asin: str = ""
    image_urls: list[str] = []
    unit_value: Money = Decimal(0)
    unit_cost: Money = Decimal(0)
    sales_price: Money = Decimal(0)
    asset_value: Money = Decimal(0)
    average_cost: Money = Decimal(0)
    product_type: int = 0
    reorder_point: Quantity = Decimal(0)
    max_quantity: Quantity = Decimal(0)
    time_until_restock: int = 0
    days_to_receive: int = wire("daystoReceive", "daysToReceive", default=0)
    is_active: bool = True
    quantity_on_order: Quantity = Decimal(0)
    quantity_on_sales_order: Quantity = Decimal(0)
    quantity_on_hand: Quantity = Decimal(0)
    quantity: Quantity = Decimal(0)
    is_manual: bool = True
    unit: int | None = 0
    internal_note: str = ""
    categories: ProductCategories | None = wire("objProductCategories", default=None)


# --- Orders ------------------------------------------------------------------------------


class OrderQuery(ConnexModel):
    """List-orders body (spec). Dates are inclusive days, sent as MM/DD/YYYY."""

    begin_date: QueryDate
    end_date: QueryDate
    page_number: int = Field(default=1, ge=1)
    page_size: int = Field(default=routes.DEFAULT_PAGE_SIZE, ge=1)
    search_text: str = ""
    order_by: str = "orderDate"
    direction: str = "desc"
    user_connection_id: int = 0

    @model_validator(mode="after")
    def _range_in_order(self) -> OrderQuery:
        if self.end_date < self.begin_date:
            raise ValueError("end_date is before begin_date")
        return self


class OrderItemDetail(ConnexModel):
    product_name: str | None = None
    sku: str | None = None
    ordered_product_quantity: Quantity | None = None
    total_sold_price: Money | None = None
    unit_price: Money | None = None
    images_url: list[str] = []
    order_number_summary: list[str] = []


class Order(ConnexModel):
    """One order of an orders page (spec sample)."""

    id: int = 0
    order_number: str
    order_date: UtcDatetime | None = None
    channel: str | None = None
    total_product_sales: Money | None = None
    user_connection_id: int | None = None
    chip_color: str | None = None
    # INFERRED (routes.ORDER_LIST_EXTRA_FIELDS): not in the spec's sample.
    customer_name: str | None = None
    items: list[OrderItemDetail] = wire("lstOrderItemDetails", default=[])


class OrdersPage(_Page):
    ROWS_KEY = "lstAllOrders"
    ROWS_FIELD = "orders"

    orders: list[Order] | None = wire(ROWS_KEY)  # never None once read: _rows_agree_with_total

    @property
    def rows(self) -> list[Order]:
        return self.orders


class Address(ConnexModel):
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    company: str | None = None
    country_name: str | None = None
    email: str | None = None
    first_name: str | None = None
    full_name: str | None = None
    last_name: str | None = None
    phone_number: str | None = None
    postal_code: str | None = None
    region_name: str | None = None
    two_letter_iso_code: str | None = None


class OrderItemOption(ConnexModel):
    name: str | None = None
    value: str | None = None
    sku: str | None = None
    quantity: Quantity | None = None


class OrderCustomField(ConnexModel):
    name: str | None = None
    value: str | None = None
    order_number: str | None = None
    mapped: bool | None = None


class OrderDetail(ConnexModel):
    name: str | None = None
    sku: str | None = None
    price_excl_tax: Money | None = None
    price_incl_tax: Money | None = None
    quantity: Quantity | None = None
    options: list[OrderItemOption] = []
    jma_custom_fields: list[OrderCustomField] = []
    custom_fields: list[OrderCustomField] = []
    order_numbers_for_item_summary: list[str] = []
    vendor: str | None = None
    categories: list[str] = []
    has_known_sku: bool | None = wire("hasKnownSKU", "hasKnownSku", default=None)
    fees: dict[str, Money] = {}


class NewOrder(ConnexModel):
    """One order of api/orders/createorders: the spec's properties plus its sample's fields."""

    reporting_user_id: UUID
    user_connection_id: int
    order_number: str = Field(min_length=1)
    order_date: UtcDatetime
    customer_name: str
    order_total: Money
    total_tax: Money
    order_type: OrderType = OrderType.WEB_ORDER
    deleted: bool = False
    ship_date: UtcDatetime | None = None
    shipping_method: str | None = None
    shipping_two_letter_region_name: str | None = None
    shipping_two_letter_iso: str | None = None
    channel_name: str | None = None
    creation_date: UtcDatetime | None = None
    credit_card_name: str | None = None
    discount_excl_tax: Money | None = None
    discount_incl_tax: Money | None = None
    shipping_excl_tax: Money | None = None
    shipping_incl_tax: Money | None = None
    total_excl_tax: Money | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None
    order_details: list[OrderDetail] = []


NEW_ORDERS_ADAPTER: Final = TypeAdapter(list[NewOrder])

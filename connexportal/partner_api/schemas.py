"""The API's request and response bodies, as pydantic models.

The same models validate requests, shape responses and generate the OpenAPI
document's schemas, so the document cannot drift from what the API does.
Messages raised here go to partners' developers verbatim: each says exactly
what is wrong with the value and how to write it.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
import zoneinfo
from decimal import Decimal
from typing import Annotated, Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator, validate_email
from pydantic import MISSING, AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, WithJsonSchema

from connexportal.accounts.models import ConnexEnvironment
from connexportal.activity.models import ActivityAction, ActorKind, Channel

# The same characters the Merchant model allows; "." and ".." alone cannot be path segments.
EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9._:@-]{1,100}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
MAX_TTL_SECONDS = 600
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50
# Text holds no control characters (PostgreSQL refuses NUL, and a name has no use for the rest)
# and something besides white space.
_CONTROL = r"\x00-\x1f\x7f-\x9f"
PLAIN_TEXT = {"pattern": rf"^[^{_CONTROL}]*[^\s{_CONTROL}][^{_CONTROL}]*$"}
# Environment names have none of these; an address (URL, host, host:port) always has one.
_ADDRESS_LIKE = re.compile(r"[/:.]")


@functools.cache
def _known_timezones() -> frozenset[str]:
    # available_timezones() walks the tz database on every call.
    return frozenset(zoneinfo.available_timezones())


def _check_external_id(value: str) -> str:
    if not re.fullmatch(EXTERNAL_ID_PATTERN, value):
        raise ValueError(f"{value!r} is not a valid external id: use 1 to 100 letters, digits and . _ : @ - only.")
    if value in (".", ".."):
        raise ValueError(f"{value!r} cannot be an external id: it cannot appear in a URL path.")
    return value


def _control_characters(value: str) -> list[str]:
    return [char for char in value if unicodedata.category(char) == "Cc"]


def _plain_text(value: str) -> str:
    found = _control_characters(value)
    if found:
        raise ValueError(f"Must not contain control characters such as line breaks; found {found[0]!r}.")
    value = value.strip()
    if not value:
        raise ValueError("Must not be blank.")
    return value


def _storable_secret(value: SecretStr) -> SecretStr:
    if _control_characters(value.get_secret_value()):
        raise ValueError("Must not contain control characters such as line breaks.")
    return value


def _check_timezone(value: str) -> str:
    if value not in _known_timezones():
        raise ValueError(f"{value!r} is not an IANA time zone name; write it like America/New_York or UTC.")
    return value


def _check_currency(value: str) -> str:
    if not re.fullmatch(CURRENCY_PATTERN, value):
        raise ValueError(f"{value!r} is not a currency code; use a three-letter ISO 4217 code in capitals, like USD.")
    return value


def _check_environment(value: str) -> str:
    names = [choice.value for choice in ConnexEnvironment]
    if _ADDRESS_LIKE.search(value):
        raise ValueError(
            f"Name the Connex environment ({', '.join(names)}), not a URL: "
            "each environment's address is configured on the server."
        )
    if value not in names:
        raise ValueError(f"{value!r} is not a Connex environment; use one of: {', '.join(names)}.")
    configured = [name for name in names if name in settings.CONNEX_ENVIRONMENTS]
    if value not in configured:
        raise ValueError(
            f"The {value} environment is not configured on this server; use one of: {', '.join(configured)}."
        )
    return value


def _check_email(value: str) -> str:
    try:
        validate_email(value)
    except DjangoValidationError:
        raise ValueError(f"{value!r} is not an email address; write it like ana@example.com.") from None
    return value


def _check_language(value: str) -> str:
    codes = language_codes()
    if value not in codes:
        raise ValueError(f"{value!r} is not a supported language; use one of: {', '.join(codes)}.")
    return value


def language_codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def _language_schema(schema: dict[str, Any]) -> None:
    schema["enum"] = language_codes()


ExternalId = Annotated[
    str,
    AfterValidator(_check_external_id),
    Field(
        description="The partner's own id for the merchant: 1 to 100 letters, digits and . _ : @ -.",
        json_schema_extra={"pattern": EXTERNAL_ID_PATTERN, "not": {"enum": [".", ".."]}},
        examples=["acme-001"],
    ),
]
MerchantName = Annotated[
    str,
    Field(
        max_length=200,
        description="The merchant's name, shown in the portal.",
        json_schema_extra=PLAIN_TEXT,
        examples=["Acme Outdoor"],
    ),
    AfterValidator(_plain_text),
]
TimeZoneName = Annotated[
    str,
    Field(
        max_length=64,
        description="IANA time zone of the merchant; local times in the portal use it.",
        examples=["America/New_York"],
    ),
    AfterValidator(_check_timezone),
]
CurrencyCode = Annotated[
    str,
    AfterValidator(_check_currency),
    Field(
        description="Three-letter ISO 4217 code; amounts from Connex are shown in it.",
        json_schema_extra={"pattern": CURRENCY_PATTERN},
        examples=["USD"],
    ),
]
EnvironmentName = Annotated[
    str,
    AfterValidator(_check_environment),
    Field(
        description=(
            "The Connex environment by name, never a URL. It must be one this server has configured; "
            "otherwise the request is refused with a field error naming the configured ones."
        ),
        json_schema_extra={"enum": [choice.value for choice in ConnexEnvironment]},
    ),
]
ConnexUsername = Annotated[
    str,
    Field(
        max_length=254,
        description="The merchant's Connex login.",
        json_schema_extra=PLAIN_TEXT,
        examples=["books@acme.example"],
    ),
    AfterValidator(_plain_text),
]
ConnexPassword = Annotated[
    SecretStr,
    Field(
        min_length=1,
        max_length=256,
        description="The merchant's Connex password. Write-only: stored encrypted, never returned.",
        json_schema_extra={"pattern": rf"^[^{_CONTROL}]+$"},
    ),
    AfterValidator(_storable_secret),
]


class RequestModel(BaseModel):
    # Strict: a JSON string is not an integer, and an unknown field is a mistake worth reporting.
    model_config = ConfigDict(extra="forbid", strict=True)


class ConnexCredentials(RequestModel):
    """A merchant's Connex login, attached by environment name."""

    environment: EnvironmentName
    username: ConnexUsername
    password: ConnexPassword


class ConnexCredentialsUpdate(RequestModel):
    """Changes to the merchant's Connex login; leave out what stays. All three are needed when there is none yet."""

    environment: EnvironmentName | MISSING = MISSING
    username: ConnexUsername | MISSING = MISSING
    password: ConnexPassword | MISSING = MISSING


class MerchantCreate(RequestModel):
    """A new merchant for the calling partner."""

    external_id: ExternalId
    name: MerchantName
    timezone: TimeZoneName = "UTC"
    currency: CurrencyCode = "USD"
    connex: ConnexCredentials | MISSING = MISSING


class MerchantUpdate(RequestModel):
    """A partial update: only the fields sent change. The external id cannot change."""

    name: MerchantName | MISSING = MISSING
    timezone: TimeZoneName | MISSING = MISSING
    currency: CurrencyCode | MISSING = MISSING
    is_active: bool | MISSING = Field(
        default=MISSING, description="false deactivates the merchant; true reactivates it."
    )
    connex: ConnexCredentialsUpdate | MISSING = MISSING


class EmbedSessionCreate(RequestModel):
    """A launch URL for one of the partner's merchants."""

    merchant_external_id: ExternalId
    user_email: Annotated[
        str,
        Field(
            max_length=254,
            description="Who is using the portal, for the merchant's records.",
            json_schema_extra={"format": "email"},
        ),
        AfterValidator(_check_email),
    ] = Field(default=MISSING)
    language: Annotated[
        str,
        AfterValidator(_check_language),
        Field(description="The portal's language; the partner's default when left out."),
        Field(json_schema_extra=_language_schema),
    ] = Field(default=MISSING)
    ttl_seconds: Annotated[
        int,
        Field(ge=1, le=MAX_TTL_SECONDS, description="How long the URL can be opened, in seconds (at most 600)."),
    ] = Field(default=MISSING)


class MerchantListQuery(BaseModel):
    """The query string of the merchant list (lax: query values are strings)."""

    page: int = Field(default=1, ge=1, description="The page, from 1.")
    page_size: int = Field(
        default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description=f"Items per page, at most {MAX_PAGE_SIZE}."
    )


class ConnexAccountOut(BaseModel):
    """The merchant's Connex login, without the password (which is write-only)."""

    environment: str = Field(json_schema_extra={"enum": [choice.value for choice in ConnexEnvironment]})
    username: str
    verified: bool = Field(
        description=(
            "true once Connex accepted exactly these credentials. false when Connex could not be reached to "
            "check them: they are kept, but used only after a login with them succeeds."
        )
    )


class MerchantOut(BaseModel):
    """A merchant as the API returns it."""

    external_id: str
    name: str
    timezone: str
    currency: str
    is_active: bool
    connex: ConnexAccountOut | None = Field(description="null until Connex credentials are attached.")
    created_at: dt.datetime
    updated_at: dt.datetime


class Pagination(BaseModel):
    page: int
    page_size: int
    total_items: int
    total_pages: int


class PageLinks(BaseModel):
    self: str = Field(json_schema_extra={"format": "uri"})
    first: str = Field(json_schema_extra={"format": "uri"})
    last: str = Field(json_schema_extra={"format": "uri"})
    prev: str | None = Field(json_schema_extra={"format": "uri"})
    next: str | None = Field(json_schema_extra={"format": "uri"})


class MerchantPage(BaseModel):
    """One page of the partner's merchants, oldest first."""

    items: list[MerchantOut]
    pagination: Pagination
    links: PageLinks


class ActivityListQuery(MerchantListQuery):
    """The query string of a merchant's activity (lax: query values are strings)."""


class ActivityActor(BaseModel):
    kind: str = Field(
        json_schema_extra={"enum": [choice.value for choice in ActorKind]},
        description="user, staff, embedded (a user of yours in the embedded portal), api_key, system or anonymous.",
    )
    label: str = Field(description="An email address, an API key's name and prefix, or what the system part is.")


class ActivityChange(BaseModel):
    old: Any = Field(description="The value before; secrets read '••••' when set, '' when not.")
    new: Any = Field(description="The value after, masked the same way.")


class ActivityEntryOut(BaseModel):
    """One thing done to or for the merchant, as the activity trail recorded it."""

    id: int
    created_at: dt.datetime
    action: str = Field(json_schema_extra={"enum": [choice.value for choice in ActivityAction]})
    action_label: str = Field(description="The action in words.")
    actor: ActivityActor
    channel: str = Field(
        json_schema_extra={"enum": [choice.value for choice in Channel]},
        description="Where it came from: direct (the portal), embedded, api, admin or system.",
    )
    target: str = Field(description="What it was done to, such as a connection's name; may be empty.")
    changes: dict[str, ActivityChange] = Field(description="Field name -> old and new value.")


class ActivityPage(BaseModel):
    """One page of a merchant's activity, newest first."""

    items: list[ActivityEntryOut]
    pagination: Pagination
    links: PageLinks


class EmbedSessionOut(BaseModel):
    """A single-use launch URL: open it in the iframe before it expires."""

    url: str = Field(json_schema_extra={"format": "uri"}, description="Absolute, single-use launch URL.")
    expires_at: dt.datetime


class Problem(BaseModel):
    """An error, as RFC 9457 problem details."""

    type: str = Field(
        json_schema_extra={"format": "uri"}, description="Identifies the kind of problem; documented at this URL."
    )
    title: str = Field(description="A short summary of the kind of problem.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong with this request, and what to do.")
    errors: dict[str, list[str]] | MISSING = Field(
        default=MISSING,
        description="Validation errors: the field's dotted path, and what is wrong with its value.",
    )
    existing_product_id: int | MISSING = Field(
        default=MISSING,
        description="duplicate-sku only: the id of the merchant's product that already has this SKU.",
    )


# --- Connections and products -----------------------------------------------------------------

HEALTH_LEVELS = ("ok", "syncing", "warning", "error", "paused", "unknown")
MAX_MONEY = Decimal("99999999999999.99")


def _money(value: Any) -> Decimal:
    # Strict JSON numbers only: a string or a boolean is a mistake, not an amount.
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"Must be a number like 12.5, not {type(value).__name__ if value is not None else 'null'}.")
    amount = Decimal(str(value))
    if not amount.is_finite() or not 0 <= amount <= MAX_MONEY:
        raise ValueError(f"Must be from 0 to {MAX_MONEY}.")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"Must have at most 2 decimal places, not {value}.")
    return amount


def _web_address(value: str) -> str:
    try:
        URLValidator(schemes=["http", "https"])(value)
    except DjangoValidationError:
        raise ValueError(f"{value!r} is not a web address; write it like https://example.com/photo.jpg.") from None
    return value


Amount = Annotated[
    Decimal,
    BeforeValidator(_money),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": float(MAX_MONEY), "description": "At most 2 decimals."}),
]
Count = Annotated[int, Field(ge=0, le=1_000_000_000)]
ProductText = Annotated[str, Field(max_length=4000)]


class ProductCategoriesIn(RequestModel):
    """The product's category in Connex (objProductCategories)."""

    category_id: Annotated[int, Field(ge=0, le=2_147_483_647)] = 0
    sub_category_ids: Annotated[list[Annotated[int, Field(ge=0, le=2_147_483_647)]], Field(max_length=50)] = []


class ProductCreate(RequestModel):
    """A new product for one of the merchant's connections: Connex's api/products/add fields in snake_case.

    Amounts and quantities left out are 0, as in Connex's own sample. The SKU must be new to the
    merchant's Connex account, compared without regard to case or spaces at its ends.
    """

    connection_id: int = Field(ge=1, le=2_147_483_647, description="One of the merchant's connections (see its list).")
    name: Annotated[str, Field(max_length=500, json_schema_extra=PLAIN_TEXT), AfterValidator(_plain_text)]
    sku: Annotated[
        str,
        Field(max_length=200, json_schema_extra=PLAIN_TEXT, description="Stock-keeping unit, new to the account."),
        AfterValidator(_plain_text),
    ]
    description: ProductText = ""
    asin: Annotated[str, Field(max_length=50, description="Amazon's product number.")] = ""
    image_urls: Annotated[
        list[Annotated[str, Field(max_length=2000, json_schema_extra={"format": "uri"}), AfterValidator(_web_address)]],
        Field(max_length=20),
    ] = []
    product_type: int = Field(default=0, ge=0, le=3, description="0 inventory, 1 non-inventory, 2 service, 3 bundle.")
    unit_value: Amount = Decimal(0)
    unit_cost: Amount = Decimal(0)
    sales_price: Amount = Decimal(0)
    asset_value: Amount = Decimal(0)
    average_cost: Amount = Field(default=Decimal(0), description="Average cost of one unit, from accounting.")
    reorder_point: Count = 0
    max_quantity: Count = 0
    time_until_restock: Count = Field(default=0, description="Days to get in the mail from the supplier.")
    days_to_receive: Count = 0
    quantity_on_order: Amount = Decimal(0)
    quantity_on_sales_order: Amount = Decimal(0)
    quantity_on_hand: Amount = Decimal(0)
    quantity: Amount = Decimal(0)
    unit: int | None = Field(default=0, ge=0, le=2_147_483_647, description="Connex's unit code.")
    is_active: bool = True
    is_manual: bool = True
    internal_note: ProductText = ""
    categories: ProductCategoriesIn | None = None

    def product_values(self) -> dict[str, Any]:
        """The fields as the portal's product service takes them."""
        values = self.model_dump(exclude={"connection_id", "categories"})
        if self.categories is not None:
            values["categories"] = {
                "category_id": self.categories.category_id,
                "sub_category_ids": [{"category_id": sub} for sub in self.categories.sub_category_ids],
            }
        return values


class ProductOut(BaseModel):
    """A product as Connex lists it after adding it."""

    id: int | None = Field(description="Connex's id; null only if Connex added it but did not list it straight after.")
    connection_id: int | None
    connection_name: str
    name: str
    sku: str
    description: str
    product_type: int | None
    sales_price: float | None
    unit_cost: float | None
    average_cost: float | None
    quantity_on_hand: float | None
    is_manual: bool
    created_at: dt.datetime | None


class ConnectionOut(BaseModel):
    """One of the merchant's connections (a sales channel, QuickBooks, a custom integration)."""

    id: int = Field(description="Connex's id of the connection: products and order imports name it.")
    name: str
    channel: str = Field(description="The kind of connection, such as Amazon, Shopify or Custom integration.")
    health: str = Field(
        json_schema_extra={"enum": list(HEALTH_LEVELS)},
        description="ok, syncing, warning (overdue), error (last sync failed), paused or unknown.",
    )
    health_label: str = Field(description="The health in words, as the portal shows it.")
    last_sync_at: dt.datetime | None = Field(description="When a sync last finished; null if never.")
    next_sync_at: dt.datetime | None = Field(description="When the next scheduled sync is due; null if none is.")


class ConnectionList(BaseModel):
    """All of the merchant's connections, as Connex lists them now."""

    items: list[ConnectionOut]

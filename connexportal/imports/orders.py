"""Reading orders to import (a CSV file, a JSON file, the API's list) and checking each one.

Every order is checked with the client's own ``NewOrder``, so the rules are the spec's
createorders rules; a problem is reported by row and column (the spec's PascalCase field
names, nested ones dotted: ``BillingAddress.City``, ``OrderDetails[0].Sku`` in JSON).
Keys may come in any casing (``orderTotal``, ``OrderTotal``, ``order_total``,
``ORDERTOTAL``). ``ReportingUserId`` and ``UserConnectionId`` are the portal's to fill:
any value sent for them is ignored.

CSV: one order per row, one line item at most (``OrderDetails.Name`` ...); an order
with several lines goes in a JSON file.
"""

from __future__ import annotations

import csv
import io
import json
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from uuid import UUID

from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from pydantic import BaseModel, ValidationError

from connexportal.connex.keys import order_key
from connexportal.connex.models import Address, NewOrder, OrderDetail

MAX_ORDERS: Final = 10_000
MAX_FILE_BYTES: Final = 10 * 1024 * 1024
FILLED_BY_PORTAL: Final = frozenset({"reportingUserId", "userConnectionId"})
# Stands in for the account's ReportingUserId while checking; the job sends the real one.
_PLACEHOLDER_USER: Final = str(UUID(int=0))

# The CSV's columns, in the template's order: the spec's createorders fields, then the
# addresses' and one line item's fields, dotted.
_ORDER_COLUMNS: Final = (
    "OrderNumber",
    "OrderDate",
    "CustomerName",
    "OrderTotal",
    "TotalTax",
    "OrderType",
    "Deleted",
    "ShipDate",
    "ShippingMethod",
    "ShippingTwoLetterRegionName",
    "ShippingTwoLetterIso",
    "ChannelName",
    "CreationDate",
    "CreditCardName",
    "DiscountExclTax",
    "DiscountInclTax",
    "ShippingExclTax",
    "ShippingInclTax",
    "TotalExclTax",
)
_ADDRESS_FIELDS: Final = (
    "FirstName",
    "LastName",
    "FullName",
    "Company",
    "Email",
    "PhoneNumber",
    "Address1",
    "Address2",
    "City",
    "RegionName",
    "PostalCode",
    "CountryName",
    "TwoLetterIsoCode",
)
_LINE_FIELDS: Final = ("Name", "Sku", "Quantity", "PriceExclTax", "PriceInclTax", "Vendor")
CSV_COLUMNS: Final = (
    *_ORDER_COLUMNS,
    *(f"BillingAddress.{name}" for name in _ADDRESS_FIELDS),
    *(f"ShippingAddress.{name}" for name in _ADDRESS_FIELDS),
    *(f"OrderDetails.{name}" for name in _LINE_FIELDS),
)
REQUIRED_COLUMNS: Final = ("OrderNumber", "OrderDate", "CustomerName", "OrderTotal", "TotalTax")
TEMPLATE_ROW: Final = {
    "OrderNumber": "WEB-1001",
    "OrderDate": "2026-03-02T14:05:00Z",
    "CustomerName": "Joe Example",
    "OrderTotal": "24.50",
    "TotalTax": "1.50",
    "OrderType": "0",
    "Deleted": "false",
    "ShippingMethod": "UPS",
    "ChannelName": "Web store",
    "ShippingAddress.FullName": "Joe Example",
    "ShippingAddress.Address1": "123 Main St.",
    "ShippingAddress.City": "Watertown",
    "ShippingAddress.RegionName": "MA",
    "ShippingAddress.PostalCode": "02472",
    "ShippingAddress.TwoLetterIsoCode": "US",
    "OrderDetails.Name": "My Product",
    "OrderDetails.Sku": "Product123",
    "OrderDetails.Quantity": "2",
    "OrderDetails.PriceExclTax": "11.50",
}


class FileError(Exception):
    """The file as a whole cannot be read (its format, its size, its columns); nothing in it is checked."""


@dataclass(frozen=True)
class CheckedOrder:
    """One order (a CSV row, a JSON array element), numbered from 1, with its problems if any."""

    row: int
    order_number: str
    payload: dict[str, Any] | None
    errors: tuple[tuple[str, str], ...] = ()

    @property
    def row_number(self) -> int:
        return self.row

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def reason(self) -> str:
        return "; ".join(f"{column}: {message}" for column, message in self.errors)


@dataclass(frozen=True)
class CheckedOrders:
    orders: list[CheckedOrder] = field(default_factory=list)

    @property
    def valid(self) -> list[CheckedOrder]:
        return [order for order in self.orders if order.valid]

    @property
    def invalid(self) -> list[CheckedOrder]:
        return [order for order in self.orders if not order.valid]


# --- Key casing ------------------------------------------------------------------------------


def _squash(key: str) -> str:
    return "".join(char for char in key.lower() if char.isalnum())


@dataclass(frozen=True)
class _Field:
    key: str  # the camelCase wire key
    model: type[BaseModel] | None  # nested object (or list element) model
    many: bool


def _nested(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            model, many = _nested(arg)
            if model is not None:
                return model, many
        return None, False
    if origin is list:
        model, _many = _nested(typing.get_args(annotation)[0])
        return model, True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    return None, False


def _fields_of(model: type[BaseModel]) -> dict[str, _Field]:
    fields: dict[str, _Field] = {}
    for name, info in model.model_fields.items():
        key = info.serialization_alias or name
        nested, many = _nested(info.annotation)
        spelled = {name, key}
        choices = getattr(info.validation_alias, "choices", ())
        spelled.update(choice for choice in choices if isinstance(choice, str))
        for spelling in spelled:
            fields[_squash(spelling)] = _Field(key, nested, many)
    return fields


_FIELDS: Final = {model: _fields_of(model) for model in (NewOrder, Address, OrderDetail)}


def _canonical(data: Mapping[str, Any], model: type[BaseModel], where: str, unknown: list[str]) -> dict[str, Any]:
    """``data`` with every key spelled as on the wire (camelCase); unknown keys are listed in ``unknown``."""
    fields = _FIELDS.get(model) or _fields_of(model)
    result: dict[str, Any] = {}
    for key, value in data.items():
        found = fields.get(_squash(str(key)))
        if found is None:
            unknown.append(f"{where}{key}")
            continue
        if found.model is not None and found.many and isinstance(value, list):
            value = [
                _canonical(item, found.model, f"{where}{_pascal(found.key)}[{index}].", unknown)
                if isinstance(item, Mapping)
                else item
                for index, item in enumerate(value)
            ]
        elif found.model is not None and isinstance(value, Mapping):
            value = _canonical(value, found.model, f"{where}{_pascal(found.key)}.", unknown)
        result[found.key] = value
    return result


def _pascal(key: str) -> str:
    return key[:1].upper() + key[1:]


# --- Checking ----------------------------------------------------------------------------


def _column(loc: tuple[Any, ...], *, flat: bool) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            if not flat and parts:
                parts[-1] += f"[{part}]"
        else:
            parts.append(_pascal(str(part)))
    return ".".join(parts) or "Order"


def _message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "missing":
        return _("Required.")
    if kind in ("string_too_short", "too_short"):
        return _("Must not be empty.")
    if kind in ("decimal_parsing", "decimal_type", "finite_number", "float_parsing", "int_parsing"):
        return _("Must be a number, like 12.50 (no currency sign or thousands separator).")
    if kind.startswith("datetime") or kind.startswith("date_"):
        return _("Must be a date, or a date and time in UTC, like 2026-03-02 or 2026-03-02T14:05:00Z.")
    if kind == "enum":
        return _(
            "Must be one of 0 (web order), 1 (web refund), 2 (invoice), 3 (credit memo), 4 (sales order), "
            "5 (sales receipt) or 6 (refund receipt)."
        )
    if kind == "bool_parsing" or kind == "bool_type":
        return _("Must be true or false.")
    if kind == "uuid_parsing":
        return _("Must be a GUID.")
    if kind in ("string_type", "model_type", "list_type", "dict_type", "model_attributes_type"):
        return _("Has the wrong type of value.")
    return str(error["msg"])


def check_order(data: Any, row: int, *, connection_id: int, flat: bool = False) -> CheckedOrder:
    """One order checked as createorders would take it; the payload is what the job sends (less the two ids)."""
    if not isinstance(data, Mapping):
        return CheckedOrder(row, "", None, (("Order", _("Must be an object with the order's fields.")),))
    unknown: list[str] = []
    wire = _canonical(data, NewOrder, "", unknown)
    order_number = wire.get("orderNumber")
    order_number = order_number.strip() if isinstance(order_number, str) else ""
    if isinstance(wire.get("orderNumber"), str):
        # Connex trims it too; the duplicate checks must compare what it will store.
        wire["orderNumber"] = order_number
    for key in FILLED_BY_PORTAL:
        wire.pop(key, None)
    errors = [(name, _("Unknown field; see the CSV template for the field names.")) for name in unknown]
    try:
        order = NewOrder.model_validate(
            {**wire, "reportingUserId": _PLACEHOLDER_USER, "userConnectionId": connection_id}
        )
    except ValidationError as exc:
        errors.extend(
            (_column(error["loc"], flat=flat), _message(error))
            for error in exc.errors(include_url=False, include_input=False)
        )
        return CheckedOrder(row, order_number, None, tuple(errors))
    if errors:
        return CheckedOrder(row, order_number, None, tuple(errors))
    payload = order.model_dump(
        mode="json", by_alias=True, exclude_none=True, exclude={"reporting_user_id", "user_connection_id"}
    )
    return CheckedOrder(row, order.order_number, payload)


def check_orders(items: Iterable[Any], *, connection_id: int, flat: bool = False) -> CheckedOrders:
    """Each order checked; an order number seen before in the same list (as Connex compares
    them: keys.order_key) is an error on the later row."""
    checked: list[CheckedOrder] = []
    first_row: dict[str, int] = {}
    for row, item in enumerate(items, start=1):
        order = check_order(item, row, connection_id=connection_id, flat=flat)
        if order.order_number:
            seen = first_row.setdefault(order_key(order.order_number), row)
            if seen != row:
                repeated = (("OrderNumber", _("Repeated: row %(row)d has the same order number.") % {"row": seen}),)
                order = CheckedOrder(row, order.order_number, None, order.errors + repeated)
        checked.append(order)
    return CheckedOrders(checked)


# --- Files ---------------------------------------------------------------------------------


def _too_many() -> FileError:
    return FileError(
        ngettext(
            "The file holds more than %(max)d order; split it into several files.",
            "The file holds more than %(max)d orders; split it into several files.",
            MAX_ORDERS,
        )
        % {"max": MAX_ORDERS}
    )


def _text(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileError(_("The file is not UTF-8 text. Save it as CSV UTF-8 (or JSON) and upload it again.")) from None


def read_json(content: bytes) -> list[Any]:
    """The orders of a JSON file: an array of orders, or an object with an "orders" array."""
    try:
        data = json.loads(_text(content))
    except (ValueError, RecursionError):
        raise FileError(_("The file is not valid JSON.")) from None
    if isinstance(data, Mapping):
        data = next((value for key, value in data.items() if _squash(str(key)) == "orders"), None)
    if not isinstance(data, list):
        raise FileError(_('The JSON must be an array of orders, or an object with an "orders" array.'))
    if len(data) > MAX_ORDERS:
        raise _too_many()
    return data


_CSV_KEYS: Final = {_squash(column): column for column in CSV_COLUMNS}


def read_csv(content: bytes) -> list[dict[str, Any]]:
    """The orders of a CSV file (header row first) as nested mappings; blank cells are left out."""
    text = _text(content)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096].split("\n", 1)[0], ",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            raise FileError(_("The file is empty: the first row must name the columns (see the CSV template)."))
        columns = []
        for cell in header:
            name = _CSV_KEYS.get(_squash(cell))
            if name is None and cell.strip():
                raise FileError(
                    _("Unknown column %(name)s. The columns are those of the CSV template: %(columns)s.")
                    % {"name": cell.strip(), "columns": ", ".join(CSV_COLUMNS)}
                )
            columns.append(name)
        named = [name for name in columns if name]
        missing = [name for name in REQUIRED_COLUMNS if name not in named]
        if missing:
            raise FileError(_("Required columns are missing: %(columns)s.") % {"columns": ", ".join(missing)})
        repeated = sorted({name for name in named if named.count(name) > 1})
        if repeated:
            raise FileError(_("Columns appear twice: %(columns)s.") % {"columns": ", ".join(repeated)})
        orders: list[dict[str, Any]] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(orders) == MAX_ORDERS:
                raise _too_many()
            orders.append(_csv_order(columns, cells))
    except csv.Error as exc:
        raise FileError(_("The file is not a readable CSV file (%(error)s).") % {"error": exc}) from None
    return orders


def _csv_order(columns: list[str | None], cells: list[str]) -> dict[str, Any]:
    order: dict[str, Any] = {}
    for name, cell in zip(columns, cells, strict=False):
        value = cell.strip()
        if name is None or value == "":
            continue
        head, _dot, tail = name.partition(".")
        if not tail:
            order[head] = value
        elif head == "OrderDetails":
            if not order.get(head):
                order[head] = [{}]
            order[head][0][tail] = value
        else:
            order.setdefault(head, {})[tail] = value
    return order


def template_csv() -> str:
    """The CSV template: every column, and one example order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerow([TEMPLATE_ROW.get(column, "") for column in CSV_COLUMNS])
    return out.getvalue()

"""Reading request fields the way Connex's ASP.NET binder does, with clear errors.

Keys are matched case-insensitively, one object at a time (a dictionary such as an
order line's ``fees`` keeps its own keys); a field is named in PascalCase, as the
spec's tables and ASP.NET's model state do.
Numbers may arrive as strings (``"orderType": "0"`` in the spec's sample), as
System.Text.Json allows with ``AllowReadingFromString``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from connexportal.sandbox import wire
from connexportal.sandbox.problems import FieldErrors

_INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")
_CENT = Decimal("0.01")
# decimal(18,2): 16 digits before the point.
_MONEY_LIMIT = Decimal(10) ** 16
_INT32 = 2**31


class FieldReader:
    """Typed access to one JSON object; every problem goes to ``errors`` and a default comes back."""

    def __init__(self, data: Mapping[str, Any], errors: FieldErrors, *, key_prefix: str = "", context: str = ""):
        self.data = {str(key).lower(): value for key, value in data.items()}
        self.errors = errors
        self.key_prefix = key_prefix
        self.context = context

    def has(self, name: str) -> bool:
        return self.data.get(name.lower()) is not None

    def error(self, name: str, message: str, summary: str | None = None) -> None:
        summary = summary or message
        self.errors.add(f"{self.key_prefix}{name}", message, summary=f"{self.context}{summary}")

    def _get(self, name: str, required: bool) -> Any:
        value = self.data.get(name.lower())
        if required and (value is None or (isinstance(value, str) and not value.strip())):
            self.error(name, f"The {name} field is required.", f"{name} is required.")
        return value

    def _invalid(self, name: str, value: Any, expected: str) -> None:
        shown = (
            value if isinstance(value, str | int | Decimal) and not isinstance(value, bool) else type(value).__name__
        )
        self.error(name, f"The value {str(shown)[:60]!r} is not valid for {name}: {expected}.")

    def string(self, name: str, *, required: bool = False, max_length: int | None = None) -> str:
        value = self._get(name, required)
        if value is None:
            return ""
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            self._invalid(name, value, "expected a string")
            return ""
        if max_length is not None and len(value) > max_length:
            self.error(name, f"{name} must be at most {max_length} characters long.")
        return value

    def integer(
        self,
        name: str,
        *,
        required: bool = False,
        default: int | None = 0,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        value = self._get(name, required)
        if value is None:
            return default
        if isinstance(value, str) and _INTEGER.match(value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self._invalid(name, value, "expected a whole number")
            return default
        if not -_INT32 <= value < _INT32:
            self._invalid(name, value, "out of range")
            return default
        if minimum is not None and value < minimum:
            self.error(name, f"{name} must be {minimum} or more.")
            return default
        if maximum is not None and value > maximum:
            self.error(name, f"{name} must be {maximum} or less.")
            return default
        return value

    def decimal(self, name: str, *, required: bool = False, default: Decimal | None = Decimal(0)) -> Decimal | None:
        """A decimal(18,2) amount, rounded half-up to cents as SQL Server would store it."""
        value = self._get(name, required)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
            self._invalid(name, value, "expected a number")
            return default
        try:
            amount = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            self._invalid(name, value, "expected a number")
            return default
        if not amount.is_finite() or abs(amount) >= _MONEY_LIMIT:
            self._invalid(name, value, "out of range")
            return default
        return amount.quantize(_CENT, rounding=ROUND_HALF_UP)

    def boolean(self, name: str, *, required: bool = False, default: bool = False) -> bool:
        value = self._get(name, required)
        if value is None:
            return default
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if not isinstance(value, bool):
            self._invalid(name, value, "expected true or false")
            return default
        return value

    def guid(self, name: str, *, required: bool = False) -> uuid.UUID | None:
        value = self._get(name, required)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str):
            try:
                return uuid.UUID(value.strip())
            except ValueError:
                pass
        self._invalid(name, value, "expected a GUID")
        return None

    def timestamp(self, name: str, *, required: bool = False) -> datetime | None:
        value = self._get(name, required)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str):
            try:
                return wire.parse_timestamp(value)
            except ValueError:
                pass
        self._invalid(name, value, "expected a date and time such as 2024-09-06T13:33:28Z")
        return None

    def enum(self, name: str, members: Mapping[int, str], *, required: bool = False, default: int = 0) -> int:
        """An enum sent as its number, its number as a string, or its name (any case)."""
        value = self._get(name, required)
        if value is None or (isinstance(value, str) and not value.strip()):
            return default
        if isinstance(value, str):
            by_name = {member_name.lower(): number for number, member_name in members.items()}
            if value.strip().lower() in by_name:
                return by_name[value.strip().lower()]
            if _INTEGER.match(value):
                value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and value in members:
            return value
        allowed = ", ".join(f"{name_} = {number}" for number, name_ in sorted(members.items()))
        self.error(
            name,
            f"The value {str(value)[:60]!r} is not valid for {name}; use one of {allowed}.",
            f"{name} {str(value)[:60]!r} is not one of {allowed}.",
        )
        return default

    def obj(self, name: str) -> dict | None:
        value = self._get(name, False)
        if value is None:
            return None
        if not isinstance(value, dict):
            self._invalid(name, value, "expected an object")
            return None
        return value

    def array(self, name: str) -> list:
        value = self._get(name, False)
        if value is None:
            return []
        if not isinstance(value, list):
            self._invalid(name, value, "expected an array")
            return []
        return value

    def strings(self, name: str) -> list[str]:
        items = self.array(name)
        if not all(isinstance(item, str) for item in items):
            self._invalid(name, items, "expected an array of strings")
            return []
        return items

"""What create_orders reports back: per order number, created, already there, or failed and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import ConnexError


@dataclass(frozen=True, slots=True)
class OrderFailure:
    """An order that create_orders could not confirm as created.

    ``may_have_landed`` is True when the order was sent and the outcome is unknown
    (Connex failed and the follow-up listing could not tell): look it up before
    sending it again. ``field_errors`` are Connex's validation messages for it.
    """

    order_number: str
    reason: str
    may_have_landed: bool = False
    field_errors: Mapping[str, list[str]] = field(default_factory=dict)
    error: ConnexError | None = None


@dataclass(frozen=True, slots=True)
class CreateOrdersResult:
    """``already_existed``: order numbers Connex already had, found by listing (before sending
    with ``skip_existing``, or after a failed batch, when they landed despite the error)."""

    created: tuple[str, ...] = ()
    already_existed: tuple[str, ...] = ()
    failed: tuple[OrderFailure, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def failed_numbers(self) -> tuple[str, ...]:
        return tuple(failure.order_number for failure in self.failed)

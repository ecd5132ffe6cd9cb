"""What create_orders reports back: each order number's fate, in input order.

Every order given to ``create_orders`` gets exactly one ``OrderOutcome``:

- ``created``: Connex acknowledged the batch that held it.
- ``already_existed``: Connex has it, found by listing orders: it was there before
  (``skip_existing``), or a batch whose answer failed had landed after all.
- ``failed``: not known to be in Connex. ``safe_to_retry`` says whether sending it
  again can duplicate it: True when Connex is known not to have it (never sent, or
  sent and then confirmed absent), False when the outcome is unknown (look it up
  before sending it again; ``reason`` then starts with "outcome unknown").

The result is also attached to an exception raised part-way through (an auth error,
a stop) as ``exc.partial_result``, so no fate decided before it is lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .errors import ConnexError


class Fate(StrEnum):
    CREATED = "created"
    ALREADY_EXISTED = "already_existed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """One order's fate. ``reason``, ``field_errors`` and ``error`` explain a failure;
    ``field_errors`` are Connex's validation messages for this order."""

    order_number: str
    fate: Fate
    reason: str = ""
    safe_to_retry: bool = False
    field_errors: Mapping[str, list[str]] = field(default_factory=dict)
    error: ConnexError | None = None

    @property
    def may_have_landed(self) -> bool:
        """A failed order whose fate is unknown: it may be in Connex."""
        return self.fate is Fate.FAILED and not self.safe_to_retry

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values, for a job that persists fates to resume after a crash."""
        return {
            "order_number": self.order_number,
            "fate": self.fate.value,
            "reason": self.reason,
            "safe_to_retry": self.safe_to_retry,
            "field_errors": {name: list(texts) for name, texts in self.field_errors.items()},
        }


# The name failed entries had before every order got an outcome; failed entries still are these.
OrderFailure = OrderOutcome


@dataclass(frozen=True, slots=True)
class CreateOrdersResult:
    """Every order's outcome, in the order the orders were given."""

    outcomes: tuple[OrderOutcome, ...] = ()

    @classmethod
    def of(cls, outcomes: Iterable[OrderOutcome]) -> CreateOrdersResult:
        return cls(tuple(outcomes))

    @property
    def created(self) -> tuple[str, ...]:
        return self._numbers(Fate.CREATED)

    @property
    def already_existed(self) -> tuple[str, ...]:
        return self._numbers(Fate.ALREADY_EXISTED)

    @property
    def failed(self) -> tuple[OrderOutcome, ...]:
        return tuple(outcome for outcome in self.outcomes if outcome.fate is Fate.FAILED)

    @property
    def failed_numbers(self) -> tuple[str, ...]:
        return self._numbers(Fate.FAILED)

    @property
    def ok(self) -> bool:
        return not any(outcome.fate is Fate.FAILED for outcome in self.outcomes)

    def outcome(self, order_number: str) -> OrderOutcome:
        """The outcome of ``order_number`` exactly as it was given."""
        for outcome in self.outcomes:
            if outcome.order_number == order_number:
                return outcome
        raise KeyError(order_number)

    def to_dict(self) -> dict[str, Any]:
        return {"outcomes": [outcome.to_dict() for outcome in self.outcomes]}

    def _numbers(self, fate: Fate) -> tuple[str, ...]:
        return tuple(outcome.order_number for outcome in self.outcomes if outcome.fate is fate)

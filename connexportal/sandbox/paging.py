"""Paging and sorting for the list calls, cheap at any depth."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import QuerySet

from connexportal.sandbox.problems import FieldErrors

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 500


@dataclass(frozen=True, slots=True)
class Sort:
    field: str
    descending: bool

    def ordering(self) -> list[str]:
        # id breaks ties, so every row has one place and pages never overlap or skip.
        sign = "-" if self.descending else ""
        return [f"{sign}{self.field}", f"{sign}id"] if self.field != "id" else [f"{sign}id"]

    def reversed(self) -> Sort:
        return Sort(self.field, not self.descending)


def parse_sort(
    order_by: str, direction: str, *, columns: Mapping[str, str], default: Sort, errors: FieldErrors
) -> Sort:
    """``orderBy`` (a whitelisted wire name, any case) and ``direction`` (asc/desc, any case)."""
    direction = direction.strip().lower()
    if direction not in ("", "asc", "desc"):
        errors.add("Direction", f"The direction {direction!r} is not valid; use asc or desc.")
    if not order_by.strip():
        return default if not direction else Sort(default.field, direction == "desc")
    by_name = {name.lower(): column for name, column in columns.items()}
    column = by_name.get(order_by.strip().lower())
    if column is None:
        errors.add("OrderBy", f"Cannot sort by {order_by!r}; use one of {', '.join(columns)}.")
        return default
    return Sort(column, direction == "desc")


def page_numbers(page_number: int | None, page_size: int | None, errors: FieldErrors) -> tuple[int, int]:
    number = page_number or 1
    size = DEFAULT_PAGE_SIZE if page_size is None or page_size == 0 else page_size
    if number < 1:
        errors.add("PageNumber", "PageNumber must be 1 or more.")
    if not 1 <= size <= MAX_PAGE_SIZE:
        errors.add("PageSize", f"PageSize must be between 1 and {MAX_PAGE_SIZE}.")
    return max(number, 1), min(max(size, 1), MAX_PAGE_SIZE)


def page(queryset: QuerySet, *, sort: Sort, number: int, size: int, total: int) -> list:
    """Rows of page ``number`` (1-based) of ``queryset`` in ``sort`` order, given its ``total``.

    Past the middle the page is read from the other end with a small OFFSET and then
    reversed, so the last page of 100,000 rows costs what the first one does.
    """
    offset = (number - 1) * size
    if offset >= total:
        return []
    count = min(size, total - offset)
    if offset <= total // 2:
        return list(queryset.order_by(*sort.ordering())[offset : offset + count])
    from_end = total - offset - count
    rows = list(queryset.order_by(*sort.reversed().ordering())[from_end : from_end + count])
    rows.reverse()
    return rows


def metadata(total: int, size: int) -> dict:
    return {"totalRows": total, "totalNumberOfPages": -(-total // size)}

"""How Connex tells two order numbers (or two SKUs) apart: the one normalisation, for client and sandbox.

INFERRED. Connex is ASP.NET on SQL Server, whose default collation
(SQL_Latin1_General_CP1_CI_AS) compares text case-insensitively, and the spec's
duplicate check ("list orders by order number") gives no other rule. So
" web-1001" and "WEB-1001 " are one order to Connex, and must be one order to the
client's duplicate checks too. Surrounding whitespace is dropped because
neither a channel nor QuickBooks keeps it.

Every comparison of order numbers or SKUs goes through these functions: the
client's repeated-number check and its lookups after a failed batch, and the
sandbox's duplicate checks, searches and stored key columns.
"""

from __future__ import annotations


def order_key(number: str) -> str:
    """The form in which two order numbers are equal exactly when Connex treats them as one order."""
    return number.strip().lower()


def sku_key(sku: str) -> str:
    """The form in which two SKUs are equal exactly when Connex treats them as one product."""
    return sku.strip().lower()

"""The client's errors: one class per kind of failure, all under ConnexError.

Every error carries the call's method, path, HTTP status (None when no response
arrived) and elapsed seconds. None of them holds a password, a token, a request
or a response object: an error may end up in a log line, an error tracker or a
page, so it only keeps plain, already-scrubbed values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .results import CreateOrdersResult


class ConnexError(Exception):
    """Base class of every error the Connex client raises.

    ``partial_result`` is set when the error stopped ``create_orders`` part-way: the
    fate of every order it was given, as far as it got (see results.py).
    """

    partial_result: CreateOrdersResult | None = None

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        elapsed: float | None = None,
        attempts: int = 0,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path
        self.status = status
        self.elapsed = elapsed
        self.attempts = attempts

    def __str__(self) -> str:
        where = " ".join(part for part in (self.method, self.path) if part)
        facts = [where] if where else []
        if self.status is not None:
            facts.append(f"HTTP {self.status}")
        if self.attempts:
            facts.append(f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}")
        if self.elapsed is not None:
            facts.append(f"{self.elapsed:.2f}s")
        return f"{self.message} ({', '.join(facts)})" if facts else self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, method={self.method!r}, path={self.path!r}, "
            f"status={self.status!r}, elapsed={self.elapsed!r}, attempts={self.attempts!r})"
        )


class ConnexAuthError(ConnexError):
    """Connex refused the credentials, or still answered 401 after a fresh login."""


class ConnexRejected(ConnexError):
    """Connex answered 4xx: the request itself was refused and repeating it will not help.

    ``detail`` and ``title`` come from an ASP.NET ProblemDetails body when there is
    one; ``field_errors`` maps each field named in its ``errors`` to its messages.
    """

    def __init__(
        self,
        message: str,
        *,
        title: str | None = None,
        detail: str | None = None,
        field_errors: Mapping[str, list[str]] | None = None,
        **context: Any,
    ) -> None:
        super().__init__(message, **context)
        self.title = title
        self.detail = detail
        self.field_errors: dict[str, list[str]] = {key: list(value) for key, value in (field_errors or {}).items()}

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, field_errors={self.field_errors!r})"


class ConnexUnavailable(ConnexError):
    """Connex could not be reached or did not serve the call (timeouts, 5xx, 429, HTML error pages).

    ``retry_after`` is the wait in seconds Connex asked for, when it asked.
    ``request_sent`` is False only when no attempt left this process (connection
    refused, no pooled connection, budget spent first): then nothing can have landed.
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, request_sent: bool = True, **context: Any
    ) -> None:
        super().__init__(message, **context)
        self.retry_after = retry_after
        self.request_sent = request_sent

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, retry_after={self.retry_after!r}, request_sent={self.request_sent!r})"


class ConnexThrottled(ConnexUnavailable):
    """The account's request rate is taken further ahead than the caller may wait: nothing was sent
    by this attempt. ``retry_after`` is the wait that was allowed; try again after about that long."""


class ConnexProtocolError(ConnexError):
    """Connex answered 2xx with a body this client cannot understand."""

"""Errors as ASP.NET sends them: RFC 9457 ProblemDetails (routes.PROBLEM_EXAMPLE's shape)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from django.http import HttpResponse

from connexportal.sandbox import wire

PROBLEM_CONTENT_TYPE = "application/problem+json; charset=utf-8"

_TYPES = {
    400: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
    401: "https://tools.ietf.org/html/rfc9110#section-15.5.2",
    403: "https://tools.ietf.org/html/rfc9110#section-15.5.4",
    404: "https://tools.ietf.org/html/rfc9110#section-15.5.5",
    405: "https://tools.ietf.org/html/rfc9110#section-15.5.6",
    409: "https://tools.ietf.org/html/rfc9110#section-15.5.10",
    413: "https://tools.ietf.org/html/rfc9110#section-15.5.14",
    415: "https://tools.ietf.org/html/rfc9110#section-15.5.16",
    429: "https://tools.ietf.org/html/rfc6585#section-4",
    500: "https://tools.ietf.org/html/rfc9110#section-15.6.1",
    502: "https://tools.ietf.org/html/rfc9110#section-15.6.3",
    503: "https://tools.ietf.org/html/rfc9110#section-15.6.4",
    504: "https://tools.ietf.org/html/rfc9110#section-15.6.5",
}
_TITLES = {
    400: "One or more validation errors occurred.",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "An error occurred while processing your request.",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class Problem(Exception):
    """Raised anywhere in a request; the dispatcher answers it as ProblemDetails."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        errors: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or _TITLES.get(status, "Error")
        self.errors = dict(errors) if errors else None
        self.headers = dict(headers or {})

    def body(self) -> dict:
        body = {"type": _TYPES.get(self.status, "about:blank"), "title": self.title, "status": self.status}
        body["detail"] = self.detail
        if self.errors is not None:
            body["errors"] = self.errors
        body["traceId"] = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"
        return body

    def response(self) -> HttpResponse:
        response = HttpResponse(wire.dumps(self.body()), status=self.status, content_type=PROBLEM_CONTENT_TYPE)
        for name, value in self.headers.items():
            response[name] = value
        return response


class FieldErrors:
    """Collects every validation error of a request, then raises one 400 naming them all.

    Keys are ASP.NET model-state keys (``Sku``, ``[0].OrderNumber``); the detail line is
    the first error's summary, e.g. ``Order 1 of 2: OrderNumber is required.``
    """

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}
        self._summaries: list[str] = []

    def add(self, key: str, message: str, *, summary: str | None = None) -> None:
        self.errors.setdefault(key, []).append(message)
        self._summaries.append(summary or message)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def problem(self, *, status: int = 400, title: str | None = None) -> Problem:
        detail = self._summaries[0]
        if len(self._summaries) > 1:
            others = len(self._summaries) - 1
            detail += f" ({others} more error{'s' if others > 1 else ''}; see errors.)"
        return Problem(status, detail, title=title, errors=self.errors)

    def raise_if_any(self, *, status: int = 400, title: str | None = None) -> None:
        if self.errors:
            raise self.problem(status=status, title=title)


def unauthorized(detail: str, *, error_description: str | None = None) -> Problem:
    challenge = "Bearer"
    if error_description:
        challenge += f' error="invalid_token", error_description="{error_description}"'
    return Problem(401, detail, headers={"WWW-Authenticate": challenge})

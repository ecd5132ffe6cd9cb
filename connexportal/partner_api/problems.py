"""Errors as RFC 9457 problem details: the catalogue of kinds, and field messages from pydantic.

A view (or the key check, the rate limit, the body parser) raises ``ApiProblem``;
the API's exception handler (api.py) turns it into an ``application/problem+json``
response. Every kind has an anchor in the human
docs, which is where its ``type`` URI points.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from pydantic import BaseModel

from connexportal.partner_api.schemas import Problem

PROBLEM_CONTENT_TYPE = "application/problem+json"


@dataclass(frozen=True)
class ProblemKind:
    slug: str
    title: str
    status: int
    explanation: str


UNAUTHORIZED = ProblemKind(
    "unauthorized", "Authentication required", 401, "The API key is missing, malformed, unknown or revoked."
)
MALFORMED_REQUEST = ProblemKind(
    "malformed-request", "Malformed request", 400, "The body is not a JSON object, or a header is malformed."
)
NOT_FOUND = ProblemKind(
    "not-found", "Not found", 404, "No such endpoint, or no merchant with that external id for your partner."
)
METHOD_NOT_ALLOWED = ProblemKind(
    "method-not-allowed", "Method not allowed", 405, "The endpoint exists but not with this method; see Allow."
)
MERCHANT_EXISTS = ProblemKind(
    "merchant-exists", "Merchant already exists", 409, "You already have a merchant with this external id."
)
MERCHANT_INACTIVE = ProblemKind(
    "merchant-inactive", "Merchant is inactive", 409, "The merchant is deactivated; reactivate it first."
)
IDEMPOTENCY_KEY_IN_USE = ProblemKind(
    "idempotency-key-in-use",
    "Request in progress",
    409,
    "A request with this Idempotency-Key is still being processed; retry after it finishes.",
)
PAYLOAD_TOO_LARGE = ProblemKind(
    "payload-too-large", "Request body too large", 413, "The body is larger than the API accepts; send less."
)
UNSUPPORTED_MEDIA_TYPE = ProblemKind(
    "unsupported-media-type", "Unsupported media type", 415, "Request bodies must be sent as application/json."
)
VALIDATION = ProblemKind(
    "validation-error", "Invalid request", 422, "Some fields are invalid; errors says which and why."
)
IDEMPOTENCY_KEY_REUSED = ProblemKind(
    "idempotency-key-reused",
    "Idempotency key reused",
    422,
    "This Idempotency-Key was already used with a different request; use a new key for a new request.",
)
RATE_LIMITED = ProblemKind(
    "rate-limited", "Too many requests", 429, "The key made too many requests this minute; wait for Retry-After."
)
SERVER_ERROR = ProblemKind(
    "server-error", "Internal server error", 500, "Something failed on our side; it is logged. Retry later."
)
DUPLICATE_SKU = ProblemKind(
    "duplicate-sku",
    "Duplicate SKU",
    409,
    "The merchant already has a product with this SKU (any case); existing_product_id names it.",
)
CONNEX_FORBIDDEN = ProblemKind(
    "connex-forbidden",
    "Not allowed by Connex",
    403,
    "The merchant's Connex account may not do this at all (Connex's demo account cannot add products).",
)
CONNEX_REFUSED = ProblemKind(
    "connex-refused",
    "Refused by Connex",
    502,
    "Connex refused the call or the merchant's Connex login; detail says why. A retry will not help.",
)
CONNEX_UNAVAILABLE = ProblemKind(
    "connex-unavailable",
    "Connex unavailable",
    503,
    "Connex did not answer, or answered with an error; nothing is known to have changed. Retry after Retry-After.",
)
WEBHOOK_ENDPOINT_LIMIT = ProblemKind(
    "webhook-endpoint-limit",
    "Too many webhook endpoints",
    409,
    "You have as many webhook endpoints as a partner may; delete one first.",
)
WEBHOOK_ENDPOINT_DISABLED = ProblemKind(
    "webhook-endpoint-disabled",
    "Webhook endpoint disabled",
    409,
    "Nothing is sent to a disabled webhook endpoint, test events included.",
)

PROBLEM_KINDS = (
    MALFORMED_REQUEST,
    UNAUTHORIZED,
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
    MERCHANT_EXISTS,
    MERCHANT_INACTIVE,
    IDEMPOTENCY_KEY_IN_USE,
    PAYLOAD_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    VALIDATION,
    IDEMPOTENCY_KEY_REUSED,
    RATE_LIMITED,
    SERVER_ERROR,
    DUPLICATE_SKU,
    CONNEX_FORBIDDEN,
    CONNEX_REFUSED,
    CONNEX_UNAVAILABLE,
    WEBHOOK_ENDPOINT_LIMIT,
    WEBHOOK_ENDPOINT_DISABLED,
)


@dataclass
class ApiProblem(Exception):
    kind: ProblemKind
    detail: str
    errors: dict[str, list[str]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # RFC 9457 extension members, such as duplicate-sku's existing_product_id.
    extensions: dict[str, Any] = field(default_factory=dict)


def problem_type_uri(request: HttpRequest, kind: ProblemKind) -> str:
    return request.build_absolute_uri(reverse("api:docs")) + f"#problem-{kind.slug}"


def problem_response(request: HttpRequest, problem: ApiProblem) -> JsonResponse:
    body = Problem(
        type=problem_type_uri(request, problem.kind),
        title=problem.kind.title,
        status=problem.kind.status,
        detail=problem.detail,
        **({"errors": problem.errors} if problem.errors is not None else {}),
        **problem.extensions,
    )
    response = JsonResponse(body.model_dump(mode="json"), status=problem.kind.status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in problem.headers.items():
        response[name] = value
    return response


def validation_problem(
    errors: Iterable[Mapping[str, Any]], model: type[BaseModel], *, detail: str | None = None
) -> ApiProblem:
    """A 422 from pydantic's errors, whose ``loc`` starts inside ``model``."""
    by_field: dict[str, list[str]] = {}
    for error in errors:
        path = ".".join(str(part) for part in error["loc"])
        by_field.setdefault(path, []).append(_field_message(error, model))
    count = len(by_field)
    return ApiProblem(
        VALIDATION,
        detail or f"{count} field{'s' if count != 1 else ''} {'are' if count != 1 else 'is'} invalid; see errors.",
        errors=by_field,
    )


def json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


# pydantic's type errors, as the JSON type the field wants.
_EXPECTED_TYPE = {
    "string_type": "a string",
    "int_type": "an integer",
    "bool_type": "true or false",
    "model_type": "an object",
}


def _field_message(error: Any, model: type[BaseModel]) -> str:
    """What is wrong with one field, in words a partner's developer can act on."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    given = error.get("input")
    if kind in _EXPECTED_TYPE:
        return f"Must be {_EXPECTED_TYPE[kind]}, not {json_kind(given)}."
    if kind == "int_parsing":
        return f"Must be an integer, not {given!r}."
    if kind == "string_unicode":
        return "Must be valid Unicode text; it holds a lone surrogate escape (such as \\ud800)."
    if kind == "missing":
        return "This field is required."
    if kind == "extra_forbidden":
        return _unknown_field_message(error["loc"], model)
    if kind == "too_short":
        return "Must not be empty."
    if kind in ("string_too_long", "too_long"):
        return f"Must be at most {ctx['max_length']} characters long; this one is {len(given)}."
    if kind == "greater_than_equal":
        return f"Must be at least {ctx['ge']}, not {given}."
    if kind == "less_than_equal":
        return f"Must be at most {ctx['le']}, not {given}."
    if kind == "value_error":
        return str(ctx["error"])
    return str(error["msg"])


def _unknown_field_message(loc: tuple[Any, ...], model: type[BaseModel]) -> str:
    owner: type[BaseModel] = model
    for part in loc[:-1]:
        annotation = owner.model_fields[str(part)].annotation
        owner = next(
            arg
            for arg in getattr(annotation, "__args__", (annotation,))
            if isinstance(arg, type) and issubclass(arg, BaseModel)
        )
    if len(loc) == 1 and loc[0] == "external_id" and "external_id" not in owner.model_fields:
        return "The external id cannot be changed; create a new merchant instead."
    return f"Unknown field; the fields are: {', '.join(owner.model_fields)}."

"""The plumbing every endpoint shares: method dispatch, key, rate limit, JSON bodies, problem responses."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from pydantic import BaseModel, ValidationError

from connexportal.partner_api.auth import authenticate
from connexportal.partner_api.problems import (
    MALFORMED_REQUEST,
    METHOD_NOT_ALLOWED,
    PAYLOAD_TOO_LARGE,
    RATE_LIMITED,
    SERVER_ERROR,
    UNSUPPORTED_MEDIA_TYPE,
    ApiProblem,
    json_kind,
    problem_response,
    validation_problem,
)
from connexportal.partner_api.ratelimit import RateLimitState, rate_limit_hit

logger = logging.getLogger(__name__)

Handler = Callable[..., HttpResponse]


def endpoint(**handlers: Handler) -> Callable[..., HttpResponse]:
    """A view answering the given methods (``get=``, ``post=`` ...) for an authenticated partner.

    Each handler is called as ``handler(request, partner, **url_kwargs)``. No cookies and no
    CSRF: the callers are partners' servers, identified by the key on every request alone.
    """
    allowed = ", ".join(sorted(method.upper() for method in handlers))

    @csrf_exempt
    def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        rate: RateLimitState | None = None
        try:
            handler = handlers.get(request.method.lower())
            if handler is None:
                raise ApiProblem(
                    METHOD_NOT_ALLOWED,
                    f"{request.method} is not allowed here; use {allowed}.",
                    headers={"Allow": allowed},
                )
            key = authenticate(request)
            # Who is acting, for the activity trail (Actor.from_request).
            request.partner_api_key = key
            rate = rate_limit_hit(key_id=key.pk)
            if rate.exceeded:
                raise ApiProblem(
                    RATE_LIMITED,
                    f"This API key made more than {rate.limit} requests this minute. "
                    f"Retry in {rate.reset_seconds} seconds.",
                    headers={"Retry-After": str(rate.reset_seconds)},
                )
            response = handler(request, key.partner, **kwargs)
        except ApiProblem as problem:
            response = problem_response(request, problem)
        except Exception:
            # Partners' code parses our errors: even a bug answers with problem details.
            logger.exception("partner API %s %s failed", request.method, request.path)
            response = problem_response(
                request, ApiProblem(SERVER_ERROR, "The request failed on our side. It has been logged; retry later.")
            )
        return finish(response, rate)

    return view


def public(handler: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """A GET view that needs no key (the API's documents)."""

    def view(request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return problem_response(
                request,
                ApiProblem(
                    METHOD_NOT_ALLOWED, f"{request.method} is not allowed here; use GET.", headers={"Allow": "GET"}
                ),
            )
        return handler(request)

    return view


def finish(response: HttpResponse, rate: RateLimitState | None) -> HttpResponse:
    if rate is not None:
        for name, value in rate.headers().items():
            response[name] = value
    # Answers carry merchants' data and launch URLs: no shared or browser cache may keep them.
    response["Cache-Control"] = "no-store"
    # The API speaks English whatever Accept-Language says (LocaleMiddleware would claim otherwise).
    response["Content-Language"] = "en"
    return response


def json_response(model: BaseModel, *, status: int = 200) -> JsonResponse:
    return JsonResponse(model.model_dump(mode="json"), status=status)


def parse_body[M: BaseModel](
    request: HttpRequest, model: type[M], *, max_bytes: int | None = None
) -> tuple[M, dict[str, Any]]:
    """The JSON object in the body, validated as ``model``; also the raw object (for idempotency).

    ``max_bytes`` raises the size limit (DATA_UPLOAD_MAX_MEMORY_SIZE) for an endpoint that takes bulk data.
    """
    if request.content_type != "application/json":
        sent = request.content_type or "no Content-Type"
        raise ApiProblem(
            UNSUPPORTED_MEDIA_TYPE,
            f"Send the body as JSON with 'Content-Type: application/json' (this request sent {sent}).",
            headers={f"Accept-{request.method.title()}": "application/json"},
        )
    try:
        body = request.body if max_bytes is None else _read_body(request, max_bytes)
    except RequestDataTooBig:
        limit = max_bytes or settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raise ApiProblem(
            PAYLOAD_TOO_LARGE, f"The request body is larger than {limit} bytes, the most this API accepts."
        ) from None
    if not body.strip():
        raise ApiProblem(MALFORMED_REQUEST, "The request body is empty; send a JSON object.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiProblem(MALFORMED_REQUEST, "The request body is not UTF-8; JSON must be sent as UTF-8.") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiProblem(
            MALFORMED_REQUEST,
            f"The request body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
        ) from None
    except (ValueError, RecursionError):
        # Valid JSON Python will not read: an integer of thousands of digits, or nesting past the stack.
        raise ApiProblem(MALFORMED_REQUEST, "The request body holds a number too long or nesting too deep.") from None
    if not isinstance(data, dict):
        raise ApiProblem(MALFORMED_REQUEST, f"The request body must be a JSON object ({{...}}), not {json_kind(data)}.")
    try:
        return model.model_validate(data), data
    except ValidationError as exc:
        raise validation_problem(exc, model) from None


def _read_body(request: HttpRequest, max_bytes: int) -> bytes:
    if int(request.META.get("CONTENT_LENGTH") or 0) > max_bytes:
        raise RequestDataTooBig
    body = request.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise RequestDataTooBig
    return body

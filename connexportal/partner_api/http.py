"""The HTTP around every endpoint that ninja leaves to us: JSON bodies with their limits, headers, 405s."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern
from django.views.decorators.csrf import csrf_exempt
from ninja.params import models as params
from ninja.params.models import BodyModel
from ninja.parser import Parser

from connexportal.partner_api.problems import (
    MALFORMED_REQUEST,
    METHOD_NOT_ALLOWED,
    PAYLOAD_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    ApiProblem,
    json_kind,
    problem_response,
)


class JsonObjectParser(Parser):
    """The body as one JSON object, or a problem saying what is wrong with it (415, 413 or 400).

    The parsed object stays on the request as ``partner_api_json``: the idempotency
    fingerprint is taken from what was sent, not from the validated model.
    """

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        if request.content_type != "application/json":
            sent = request.content_type or "no Content-Type"
            raise ApiProblem(
                UNSUPPORTED_MEDIA_TYPE,
                f"Send the body as JSON with 'Content-Type: application/json' (this request sent {sent}).",
                headers={f"Accept-{request.method.title()}": "application/json"},
            )
        max_bytes = getattr(request, "partner_api_max_body_bytes", None)
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
            raise ApiProblem(
                MALFORMED_REQUEST, "The request body holds a number too long or nesting too deep."
            ) from None
        if not isinstance(data, dict):
            raise ApiProblem(
                MALFORMED_REQUEST, f"The request body must be a JSON object ({{...}}), not {json_kind(data)}."
            )
        request.partner_api_json = data
        return data


class JsonObjectBodyModel(BodyModel):
    @classmethod
    def get_request_data(cls, request: HttpRequest, api: Any, path_params: Any) -> dict[str, Any]:
        # ninja's own skips an empty body and turns the parser's errors into a plain 400; the parser's
        # problems (and its own size limit) are the answer here.
        return {cls.__read_from_single_attr__: api.parser.parse_body(request)}


class JsonObjectBody(params.Body):
    """A body parameter read by JsonObjectParser: ``body: Annotated[MerchantCreate, JsonObjectBody(...)]``."""

    _model = JsonObjectBodyModel

    @classmethod
    def _param_source(cls) -> str:
        return "body"


def _read_body(request: HttpRequest, max_bytes: int) -> bytes:
    if int(request.META.get("CONTENT_LENGTH") or 0) > max_bytes:
        raise RequestDataTooBig
    body = request.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise RequestDataTooBig
    return body


def bulk_body(max_bytes: int) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A ninja "view" decorator raising the body size limit (DATA_UPLOAD_MAX_MEMORY_SIZE) for bulk data."""

    def decorator(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(run)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            request.partner_api_max_body_bytes = max_bytes
            return run(request, *args, **kwargs)

        return wrapper

    return decorator


def finish(response: HttpResponse, request: HttpRequest) -> HttpResponse:
    rate = getattr(request, "partner_api_rate", None)
    if rate is not None:
        for name, value in rate.headers().items():
            response[name] = value
    # Answers carry merchants' data and launch URLs: no shared or browser cache may keep them.
    response["Cache-Control"] = "no-store"
    # The API speaks English whatever Accept-Language says (LocaleMiddleware would claim otherwise).
    response["Content-Language"] = "en"
    return response


def method_problems(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A view whose plain 405 (ninja's, or require_safe's) answers as a method-not-allowed problem."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if not isinstance(response, HttpResponseNotAllowed):
            return response
        allowed = ", ".join(sorted(method.strip() for method in response["Allow"].split(",")))
        return problem_response(
            request,
            ApiProblem(
                METHOD_NOT_ALLOWED, f"{request.method} is not allowed here; use {allowed}.", headers={"Allow": allowed}
            ),
        )

    return wrapper


def partner_api_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """An API view (ninja's for each path, or the catch-all 404): problems for 405s, and the API's headers.

    No cookies and no CSRF: the callers are partners' servers, identified by the key on every request alone.
    """
    view = method_problems(view)

    @csrf_exempt
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return finish(view(request, *args, **kwargs), request)

    return wrapper


def wrapped_patterns(patterns: list[Any]) -> list[URLPattern]:
    return [
        URLPattern(pattern.pattern, partner_api_view(pattern.callback), pattern.default_args, pattern.name)
        for pattern in patterns
    ]

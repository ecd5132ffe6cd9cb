"""The sandbox's one Django view: route, read the body, inject faults, authenticate, advance runs, handle.

Every path of routes.ALL_ROUTES is served, matched case-insensitively and with or
without a trailing slash, as ASP.NET routing does. Anything refused is answered as
ProblemDetails; a path Connex does not have is a 404, a wrong method a 405.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from connexportal.connex import routes
from connexportal.sandbox import auth, faults, handlers, runs, wire
from connexportal.sandbox.problems import Problem, unauthorized

Handler = Callable[[handlers.Call], HttpResponse]

# route -> (handler, needs a bearer token)
ENDPOINTS: dict[routes.Route, tuple[Handler, bool]] = {
    routes.LOGIN: (handlers.login, False),
    routes.LOGIN_FALLBACK: (handlers.login, False),
    routes.LIST_CONNECTIONS: (handlers.list_connections, True),
    routes.UPDATE_SETTINGS: (handlers.update_settings, True),
    routes.RUN_NOW: (handlers.run_now, True),
    routes.LIST_PRODUCTS: (handlers.list_products, True),
    routes.LIST_ORDERS: (handlers.list_orders, True),
    routes.ADD_PRODUCT: (handlers.add_product, True),
    routes.CREATE_ORDERS: (handlers.create_orders, True),
}
_BY_PATH = {route.path.lower(): route for route in ENDPOINTS}


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _read_body(request: HttpRequest) -> Any:
    """The parsed JSON body (numbers with a fraction as Decimal); raises Problem."""
    if request.method == "GET":
        return None
    media_type = request.content_type.lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        # ASP.NET answers 415 to a [FromBody] call without a JSON content type, even with no body at all.
        raise Problem(415, f"Send the body as application/json, not {request.content_type or 'no content type'}.")
    try:
        raw = request.body
    except RequestDataTooBig:
        raise Problem(413, "The request body is too large.") from None
    if not raw.strip():
        raise Problem(
            400, "A non-empty request body is required.", errors={"": ["A non-empty request body is required."]}
        )
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        message = f"The request body is not valid JSON: {getattr(exc, 'msg', exc)}{where}."
        raise Problem(400, message, errors={"$": [message]}) from None


def _login_username(body: Any) -> str | None:
    if isinstance(body, dict):
        for key, value in body.items():
            if str(key).lower() == "username" and isinstance(value, str):
                return value
    return None


@csrf_exempt
def serve(request: HttpRequest, path: str) -> HttpResponse:
    route = _BY_PATH.get(path.strip("/").lower())
    if route is None:
        return Problem(404, f"There is no Connex API route at /{path}.").response()
    if request.method != route.method:
        detail = f"{route.path} takes {route.method}, not {request.method}."
        return Problem(405, detail, headers={"Allow": route.method}).response()
    handler, needs_token = ENDPOINTS[route]
    now = timezone.now()
    try:
        body, bad_body = _read_body(request), None
    except Problem as problem:
        body, bad_body = None, problem
    raw_token = auth.bearer_token(request.headers.get(routes.AUTH_HEADER, "")) if needs_token else None
    token = auth.find_token(raw_token) if raw_token else None
    live_token = token if token is not None and token.expires_at > now else None
    username = live_token.user.username if live_token else (None if needs_token else _login_username(body))

    injected = faults.intercept(route_path=route.path, username=username, token=live_token, now=now)
    if isinstance(injected, HttpResponse):
        return injected
    try:
        if bad_body is not None:
            raise bad_body
        # Injected latency may have passed; expiry and run progress go by the time now.
        now = timezone.now()
        if needs_token:
            if raw_token is None:
                raise unauthorized(
                    f"Send '{routes.AUTH_HEADER}: {routes.AUTH_SCHEME} <token>' from {routes.LOGIN.path}."
                )
            if token is None:
                raise unauthorized("The access token is not valid.", error_description="The token is not valid")
            if token.expires_at <= now:
                expired_at = wire.timestamp_z(token.expires_at)
                raise unauthorized(
                    f"The access token expired at {expired_at}; log in again.",
                    error_description=f"The token expired at '{expired_at}'",
                )
            runs.advance(now=now)
        user = token.user if token else None
        response = handler(handlers.Call(request=request, body=body, user=user, now=now, commit=injected))
    except Problem as problem:
        return problem.response()
    if injected is not None and response.status_code < 300:
        return injected.response()
    return response

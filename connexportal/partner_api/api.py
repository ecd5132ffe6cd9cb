"""The partner API (/api/v1/) on django-ninja: the routers, the key and rate limit on every route, problems.

ninja generates the OpenAPI 3.1 document from the routes and their pydantic
models (openapi.py gives each route its statuses, examples and problems);
/api/v1/openapi.json serves it and /api/v1/docs renders the human docs.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import Throttled
from ninja.openapi import schema as ninja_openapi_schema
from ninja.openapi.schema import OpenAPISchema
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder
from ninja.schema import NinjaGenerateJsonSchema
from pydantic import MISSING
from pydantic.json_schema import JsonSchemaValue

from connexportal.partner_api import openapi, order_imports, views, webhook_endpoints
from connexportal.partner_api.auth import PartnerApiKeyAuth
from connexportal.partner_api.http import JsonObjectParser
from connexportal.partner_api.problems import (
    PROBLEM_CONTENT_TYPE,
    RATE_LIMITED,
    SERVER_ERROR,
    ApiProblem,
    problem_response,
    validation_problem,
)
from connexportal.partner_api.ratelimit import PartnerKeyRateLimit

logger = logging.getLogger(__name__)


class PartnerApiEncoder(NinjaJSONEncoder):
    # Times as pydantic writes them (microseconds kept, UTC as Z), not cut to milliseconds as Django's encoder does.
    def default(self, o: Any) -> Any:
        if isinstance(o, dt.datetime):
            text = o.isoformat()
            return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text
        return super().default(o)


class PartnerApiRenderer(JSONRenderer):
    encoder_class = PartnerApiEncoder


class PartnerJsonSchemaGenerator(NinjaGenerateJsonSchema):
    # ninja's generator writes every default, and cannot encode pydantic's MISSING (a field that may be left
    # out, such as a PATCH field or a problem's errors); like pydantic's own generator, such a field has none.
    def default_schema(self, schema: Any) -> JsonSchemaValue:
        if schema.get("default") is MISSING:
            return self.generate_inner(schema["schema"])
        return super().default_schema(schema)


# ninja 1.7.1 takes its generator from this module global; it has no setting for it. The subclass only
# differs for MISSING defaults, where ninja's own raises, so nothing else in the document changes.
ninja_openapi_schema.NinjaGenerateJsonSchema = PartnerJsonSchemaGenerator


class PartnerApiSchema(OpenAPISchema):
    """ninja's document, with error answers in the media type they are sent in and the key's scheme by its name."""

    def responses(self, operation: Any) -> dict[int, Any]:
        result = super().responses(operation)
        for status, response in result.items():
            if status >= 400 and "content" in response:
                response["content"] = {PROBLEM_CONTENT_TYPE: response["content"].pop(self.api.renderer.media_type)}
        return result

    def operation_security(self, operation: Any) -> list[dict[str, Any]] | None:
        if super().operation_security(operation) is None:
            return None
        # ninja names a scheme after its class; partners' generated clients know it as partnerApiKey.
        self.securitySchemes = {openapi.SECURITY_SCHEME: operation.auth_callbacks[0].openapi_security_schema}
        return [{openapi.SECURITY_SCHEME: []}]


class PartnerNinjaAPI(NinjaAPI):
    def get_content_type(self) -> str:
        # JSON is UTF-8 by definition (RFC 8259), and partners have always been sent the bare media type.
        return self.renderer.media_type

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: Any = None) -> OpenAPISchema:
        # Paths relative to the server URL (/api/v1), as partners' generators expect.
        return PartnerApiSchema(self, "" if path_prefix is None else path_prefix)

    def validation_error_from_error_contexts(self, error_contexts: list[Any]) -> ApiProblem:
        """A 422 problem naming the fields as the partner sent them (``connex.username``, ``page``)."""
        # One source per operation fails in practice: path parameters are plain strings, and no
        # endpoint takes both a body and a query.
        context = error_contexts[0]
        model = context.model
        errors = context.pydantic_validation_error.errors(include_url=False)
        if model.__ninja_param_source__ == "body":
            # ninja wraps the body in a model with one field, the view's parameter.
            parameter = next(iter(model.model_fields))
            body_model = model.model_fields[parameter].annotation
            return validation_problem([{**error, "loc": error["loc"][1:]} for error in errors], body_model)
        flattened = getattr(model, "__ninja_flatten_map_reverse__", {})
        query_errors = [{**error, "loc": flattened.get(error["loc"], error["loc"])} for error in errors]
        return validation_problem(query_errors, model, detail="The query string is invalid; see errors.")


api = PartnerNinjaAPI(
    title="Connex Portal partner API",
    version=openapi.API_VERSION,
    description=openapi.api_description(),
    servers=[{"url": "/api/v1"}],
    urls_namespace="api",
    auth=PartnerApiKeyAuth(),
    throttle=PartnerKeyRateLimit(),
    parser=JsonObjectParser(),
    renderer=PartnerApiRenderer(),
    # The docs page is ours (templates/partner_api/docs.html), with nothing loaded from elsewhere.
    docs_url=None,
    openapi_url=None,
    openapi_extra={"security": [{openapi.SECURITY_SCHEME: []}], "tags": openapi.TAGS},
)


@api.exception_handler(ApiProblem)
def on_problem(request: HttpRequest, problem: ApiProblem) -> HttpResponse:
    return problem_response(request, problem)


@api.exception_handler(Throttled)
def on_throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    rate = request.partner_api_rate
    return problem_response(
        request,
        ApiProblem(
            RATE_LIMITED,
            f"This API key made more than {rate.limit} requests this minute. Retry in {rate.reset_seconds} seconds.",
            headers={"Retry-After": str(rate.reset_seconds)},
        ),
    )


@api.exception_handler(Exception)
def on_bug(request: HttpRequest, exc: Exception) -> HttpResponse:
    # Partners' code parses our errors: even a bug answers with problem details.
    logger.error("partner API %s %s failed", request.method, request.path, exc_info=exc)
    return problem_response(
        request, ApiProblem(SERVER_ERROR, "The request failed on our side. It has been logged; retry later.")
    )


for router in (views.router, order_imports.router, webhook_endpoints.router):
    api.add_router("", router)


@api.get(
    "/openapi.json",
    auth=None,
    throttle=[],
    response=dict,
    url_name="openapi",
    operation_id="getOpenApiDocument",
    summary="This document",
    tags=["Documentation"],
    openapi_extra={"security": []},
)
def openapi_document(request: HttpRequest) -> HttpResponse:
    return JsonResponse(api.get_openapi_schema(), json_dumps_params={"indent": 2})

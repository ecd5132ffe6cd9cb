from django.urls import path, re_path

from connexportal.partner_api import order_imports, views, webhook_endpoints

app_name = "api"

urlpatterns = [
    path("merchants", views.merchants, name="merchants"),
    path("merchants/<str:external_id>", views.merchant, name="merchant"),
    path("merchants/<str:external_id>/deactivate", views.merchant_deactivation, name="merchant-deactivate"),
    path("merchants/<str:external_id>/activity", views.merchant_activity, name="merchant-activity"),
    path("merchants/<str:external_id>/connections", views.merchant_connections, name="merchant-connections"),
    path("merchants/<str:external_id>/products", views.merchant_products, name="merchant-products"),
    path(
        "merchants/<str:external_id>/order-imports",
        order_imports.merchant_order_imports,
        name="merchant-order-imports",
    ),
    path("order-imports/<str:import_id>", order_imports.order_import, name="order-import"),
    path("embed-sessions", views.embed_sessions, name="embed-sessions"),
    path("webhook-endpoints", webhook_endpoints.webhook_endpoints, name="webhook-endpoints"),
    path("webhook-endpoints/<str:endpoint_id>", webhook_endpoints.webhook_endpoint, name="webhook-endpoint"),
    path(
        "webhook-endpoints/<str:endpoint_id>/test",
        webhook_endpoints.webhook_endpoint_test,
        name="webhook-endpoint-test",
    ),
    path(
        "webhook-endpoints/<str:endpoint_id>/rotate-secret",
        webhook_endpoints.webhook_endpoint_secret_rotation,
        name="webhook-endpoint-rotate-secret",
    ),
    path("openapi.json", views.openapi_json, name="openapi"),
    path("docs", views.docs, name="docs"),
    # Anything else under /api/v1/ answers in JSON too, never with the site's HTML 404 page.
    re_path(r"^(?P<path>.*)$", views.not_found, name="not-found"),
]

from django.urls import path

from connexportal.accounts import languages
from connexportal.portal import connect_views, views

app_name = "portal"

urlpatterns = [
    path("connections/", views.connections, name="connections"),
    path("connect/", connect_views.connect_account, name="connect"),
    path("connections/<int:connection_id>/pair/", connect_views.connection_pair, name="connection-pair"),
    path("connections/<int:connection_id>/settings/", views.connection_settings, name="connection-settings"),
    path("connections/<int:connection_id>/settings/preview/", views.window_preview, name="window-preview"),
    path("connections/<int:connection_id>/run-now/", views.run_now, name="run-now"),
    path("connections/<int:connection_id>/runs/", views.run_status, name="run-status"),
    path("products/", views.products, name="products"),
    path("products/new/", views.product_new, name="product-new"),
    path("orders/", views.orders, name="orders"),
    path("activity/", views.activity, name="activity"),
    # Here rather than with the accounts' URLs so that an embedded portal may use it too.
    path("language/", languages.set_language, name="set-language"),
]

from django.urls import path

from connexportal.partner import views

app_name = "partner"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("merchants/new/", views.merchant_new, name="merchant-new"),
    path("merchants/<int:merchant_id>/", views.merchant_detail, name="merchant"),
    path("merchants/<int:merchant_id>/health/", views.merchant_health, name="merchant-health"),
    path("merchants/<int:merchant_id>/edit/", views.merchant_edit, name="merchant-edit"),
    path("merchants/<int:merchant_id>/deactivate/", views.merchant_deactivate, name="merchant-deactivate"),
    path("merchants/<int:merchant_id>/reactivate/", views.merchant_reactivate, name="merchant-reactivate"),
    path("merchants/<int:merchant_id>/open/", views.merchant_open, name="merchant-open"),
    path("api-keys/", views.api_keys, name="api-keys"),
    path("api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="api-key-revoke"),
    path("webhooks/", views.webhooks, name="webhooks"),
    path("webhooks/deliveries/", views.webhook_deliveries, name="webhook-deliveries"),
    path("webhooks/deliveries/<int:delivery_id>/redeliver/", views.webhook_redeliver, name="webhook-redeliver"),
    path("webhooks/<str:endpoint_id>/rotate/", views.webhook_rotate, name="webhook-rotate"),
    path("webhooks/<str:endpoint_id>/test/", views.webhook_test, name="webhook-test"),
    path("webhooks/<str:endpoint_id>/delete/", views.webhook_delete, name="webhook-delete"),
    path("branding/", views.branding, name="branding"),
    path("branding/preview/", views.branding_preview, name="branding-preview"),
    path("branding/preview/theme.css", views.branding_preview_theme, name="branding-preview-theme"),
]

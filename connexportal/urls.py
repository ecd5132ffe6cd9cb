from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from connexportal.accounts import views as account_views
from connexportal.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", account_views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        account_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password-reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("orders/import/", include("connexportal.imports.urls")),
    path("partner/", include("connexportal.partner.urls")),
    path("", include("connexportal.portal.urls")),
    path("branding/<int:partner_id>/logo", account_views.partner_logo, name="partner-logo"),
    path("branding/<int:partner_id>/theme.css", account_views.partner_theme, name="partner-theme"),
    path(settings.ADMIN_URL, admin.site.urls),
    path("embed/", include("connexportal.embed.urls")),
    path("api/v1/", include("connexportal.partner_api.urls")),
]

handler400 = core_views.bad_request

if settings.CONNEX_SANDBOX:
    urlpatterns.append(path("sandbox/", include("connexportal.sandbox.urls")))

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from connexportal.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]

if settings.CONNEX_SANDBOX:
    urlpatterns.append(path("sandbox/", include("connexportal.sandbox.urls")))

"""What Django's error reports (the DEBUG page, the mails to ADMINS) may show."""

from __future__ import annotations

from django.views.debug import SafeExceptionReporterFilter

from connexportal.config import mask_url_password


class SecretsFilter(SafeExceptionReporterFilter):
    """Django's filter masks settings and request variables by name (KEY, SECRET, PASS...).

    A URL's password has no such name: DATABASE_URL and REDIS_URL (also in request.META, where
    the development server copies the process environment) and a cache's LOCATION would be
    shown whole. Every string shown is also stripped of URL passwords.
    """

    def cleanse_setting(self, key, value):
        value = super().cleanse_setting(key, value)
        return mask_url_password(value) if isinstance(value, str) else value

    def cleanse_special_types(self, request, value):
        value = super().cleanse_special_types(request, value)
        return mask_url_password(value) if isinstance(value, str) else value

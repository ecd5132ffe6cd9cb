"""Django's DEBUG error page lists the settings and the request's environment: no secret of the
configuration may appear there, whatever name it travels under."""

import sys

import pytest
from django.test import RequestFactory
from django.views.debug import technical_500_response

from connexportal.config import load_config

SECRET_KEY = "k3y-VALUE-that-only-the-server-knows-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
FERNET_KEY = "q5BmbnjxVEMVcTTUgKRTn8wvdcpEjhnUYeVH5bcZpUw="
DATABASE_PASSWORD = "pg-PASSWORD-in-the-url"
REDIS_PASSWORD = "redis-PASSWORD-in-the-url"
EMAIL_PASSWORD = "smtp-PASSWORD-value"
SECRETS = (SECRET_KEY, FERNET_KEY, DATABASE_PASSWORD, REDIS_PASSWORD, EMAIL_PASSWORD)

ENVIRONMENT = {
    "DEBUG": "true",
    "SECRET_KEY": SECRET_KEY,
    "FIELD_ENCRYPTION_KEYS": FERNET_KEY,
    "DATABASE_URL": f"postgres://portal:{DATABASE_PASSWORD}@db.internal:5432/portal",
    "REDIS_URL": f"redis://:{REDIS_PASSWORD}@cache.internal:6379/0",
    "EMAIL_HOST": "smtp.example.com",
    "EMAIL_HOST_USER": "mailer",
    "EMAIL_HOST_PASSWORD": EMAIL_PASSWORD,
}


@pytest.fixture
def configured(settings):
    """Settings as settings.py builds them from ENVIRONMENT (the database connection itself is left alone)."""
    config = load_config(ENVIRONMENT)
    settings.DEBUG = True
    settings.CONFIG = config
    settings.SECRET_KEY = config.secret_key
    settings.FIELD_ENCRYPTION_KEYS = config.encryption_keys
    settings.MAILERS = {"default": config.mailer}
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": config.REDIS_URL}
    }
    return config


def error_page(**request_environ) -> str:
    # The development server copies the process environment into every request's META.
    request = RequestFactory().get("/connections/", **{**ENVIRONMENT, **request_environ})
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        return technical_500_response(request, *sys.exc_info()).content.decode()


@pytest.mark.parametrize("accept", ["text/html", "text/plain"])
def test_the_debug_error_page_shows_no_secret(configured, accept):
    page = error_page(HTTP_ACCEPT=accept)
    assert "RuntimeError" in page
    assert "CONFIG" in page and "DATABASE_URL" in page and "smtp.example.com" in page
    for secret in SECRETS:
        assert secret not in page


def test_the_config_repr_masks_secrets_and_url_passwords(configured):
    for text in (repr(configured), str(configured)):
        assert "db.internal:5432/portal" in text and "cache.internal:6379" in text
        for secret in SECRETS:
            assert secret not in text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgres://portal:pw@db:5432/portal", "postgres://portal:********@db:5432/portal"),
        ("redis://:pw@cache:6379/0", "redis://:********@cache:6379/0"),
        ("a rediss://u:p@x and https://v:q@y", "a rediss://u:********@x and https://v:********@y"),
        ("sqlite:////srv/db.sqlite3", "sqlite:////srv/db.sqlite3"),
        ("https://host/path@x?a:b", "https://host/path@x?a:b"),
        ("user@example.com", "user@example.com"),
    ],
)
def test_url_passwords_are_masked(text, masked):
    from connexportal.config import mask_url_password

    assert mask_url_password(text) == masked

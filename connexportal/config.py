"""Typed runtime configuration, read once from the environment.

Every setting the portal takes from outside lives here, so that a bad value
stops start-up with one line naming the variable instead of a traceback deep
inside Django.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

BASE_DIR = Path(__file__).resolve().parent.parent

DEFAULT_SANDBOX_URL = "http://127.0.0.1:{port}/sandbox"
DEV_SECRET_KEY = "django-insecure-dev-only-key-never-use-in-production-0123456789"

# Variables whose rejected value may be repeated in an error; the others can hold secrets.
_ECHO_SAFE = frozenset(
    {
        "DEBUG",
        "CONNEX_SANDBOX",
        "PORT",
        "LOG_LEVEL",
        "CONNEX_RATE_LIMIT",
        "CONNEX_MAX_THROTTLE_WAIT",
        "ADMIN_URL",
        "SESSION_IDLE_TIMEOUT",
        "TRUSTED_PROXY_COUNT",
        "EMAIL_HOST",
        "EMAIL_PORT",
        "EMAIL_USE_TLS",
        "DEFAULT_FROM_EMAIL",
    }
)

ADMIN_URL_PATTERN = re.compile(r"(?:[A-Za-z0-9._~-]+/)+")
HOST_PATTERN = re.compile(r"[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]")
EMAIL_ADDRESS_PATTERN = re.compile(r"[^@\s<>]+@[^@\s<>]+")

CommaList = Annotated[list[str], NoDecode]

# Values that are secrets whole; any other value may still carry one inside a URL.
SECRET_FIELDS = frozenset({"SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "EMAIL_HOST_PASSWORD"})
MASK = "********"
URL_PASSWORD_PATTERN = re.compile(r"(?P<before>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)[^@\s]+@")


def mask_url_password(text: str) -> str:
    """``text`` with the password of every URL in it (scheme://user:password@host) masked."""
    return URL_PASSWORD_PATTERN.sub(lambda match: f"{match['before']}{MASK}@", text)


class ConfigError(Exception):
    """A configuration value is missing or invalid; the message names the variable."""


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _check_http_url(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
    if parts.query or parts.fragment:
        raise ValueError("must not carry a query string or fragment")
    return value.rstrip("/")


class Config(BaseSettings):
    model_config = SettingsConfigDict(
        case_sensitive=True,
        extra="ignore",
        env_file=BASE_DIR / ".env",
        env_file_encoding="utf-8",
    )

    DEBUG: bool = False
    SECRET_KEY: str = ""
    ALLOWED_HOSTS: CommaList = Field(default_factory=list)
    DATABASE_URL: str = f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    REDIS_URL: str = ""
    CONNEX_PRODUCTION_URL: str | None = None
    CONNEX_STAGING_URL: str | None = "https://cfqb-ui-staging.azurewebsites.net"
    CONNEX_SANDBOX_URL: str | None = None
    CONNEX_SANDBOX: bool = False
    # The port this server serves on (`make run PORT=...` passes it): where the in-process sandbox answers.
    PORT: int = Field(8000, ge=1, le=65535)
    FIELD_ENCRYPTION_KEYS: CommaList = Field(default_factory=list)
    CONNEX_RATE_LIMIT: float = Field(4.0, ge=0)
    # Seconds a page may wait for its account's next Connex slot; beyond that it answers at once
    # with the last known data (or a "busy" message). Background tasks wait up to their call budget.
    CONNEX_MAX_THROTTLE_WAIT: float = Field(5.0, ge=0, le=30)
    # Days the activity trail (and the webhook log) is kept; a daily task deletes older rows.
    ACTIVITY_RETENTION_DAYS: int = Field(365, ge=1, le=3650)
    LOG_LEVEL: str = "INFO"
    ADMIN_URL: str = "admin/"
    SESSION_IDLE_TIMEOUT: int = Field(7200, ge=300, le=30 * 86400)
    TRUSTED_PROXY_COUNT: int = Field(0, ge=0, le=10)
    EMAIL_HOST: str = ""
    EMAIL_PORT: int = Field(25, ge=1, le=65535)
    EMAIL_HOST_USER: str = ""
    EMAIL_HOST_PASSWORD: str = ""
    EMAIL_USE_TLS: bool = False
    DEFAULT_FROM_EMAIL: str = "Connex Portal <noreply@localhost>"

    def __repr_args__(self):
        # The config is printed wherever an object is: Django's DEBUG error page (settings and
        # traceback locals), logs, a shell. Its secrets never are.
        for name, value in super().__repr_args__():
            if name in SECRET_FIELDS and value:
                yield name, MASK
            elif isinstance(value, str):
                yield name, mask_url_password(value)
            else:
                yield name, value

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        # load_config passes the environment in explicitly, so tests can hand in their own.
        return (init_settings, dotenv_settings)

    @field_validator("ALLOWED_HOSTS", "FIELD_ENCRYPTION_KEYS", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split_commas(value)

    @field_validator("DATABASE_URL")
    @classmethod
    def _database_scheme(cls, value: str) -> str:
        scheme = urlsplit(value).scheme
        if scheme not in ("sqlite", "postgres", "postgresql", "pgsql"):
            raise ValueError(
                f"unsupported scheme {scheme or '(none)'!r}; use sqlite:///path or postgres://user@host:port/name"
            )
        return value

    @field_validator("REDIS_URL")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if value and urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("CONNEX_PRODUCTION_URL", "CONNEX_STAGING_URL", "CONNEX_SANDBOX_URL")
    @classmethod
    def _upstream_url(cls, value: str | None) -> str | None:
        return _check_http_url(value)

    @field_validator("FIELD_ENCRYPTION_KEYS")
    @classmethod
    def _fernet_keys(cls, keys: list[str]) -> list[str]:
        for position, key in enumerate(keys, start=1):
            try:
                raw = base64.urlsafe_b64decode(key.encode("ascii"))
            except (binascii.Error, UnicodeEncodeError, ValueError):
                raw = b""
            if len(raw) != 32:
                raise ValueError(
                    f"key {position} is not a Fernet key "
                    "(32 url-safe base64-encoded bytes, as cryptography's Fernet.generate_key() makes)"
                )
        return keys

    @field_validator("LOG_LEVEL")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("ADMIN_URL")
    @classmethod
    def _admin_url(cls, value: str) -> str:
        if not ADMIN_URL_PATTERN.fullmatch(value) or any(part in (".", "..") for part in value.split("/")):
            raise ValueError("must be a relative path ending with '/' and without a leading '/', such as admin/")
        return value

    @field_validator("EMAIL_HOST")
    @classmethod
    def _email_host(cls, value: str) -> str:
        if value and not HOST_PATTERN.fullmatch(value):
            raise ValueError("must be a host name or IP address only (no scheme, port or path)")
        return value

    @field_validator("DEFAULT_FROM_EMAIL")
    @classmethod
    def _from_address(cls, value: str) -> str:
        _name, address = parseaddr(value)
        if not EMAIL_ADDRESS_PATTERN.fullmatch(address):
            raise ValueError("must be an email address, optionally with a name: Portal <noreply@example.com>")
        return value

    @model_validator(mode="after")
    def _production_requirements(self) -> Config:
        if self.DEBUG:
            return self
        if not self.SECRET_KEY:
            raise ConfigError("SECRET_KEY: required when DEBUG is off (use 50+ random characters)")
        if len(self.SECRET_KEY) < 50 or self.SECRET_KEY.startswith("django-insecure"):
            raise ConfigError("SECRET_KEY: too weak for DEBUG off; use 50+ random characters")
        if not self.FIELD_ENCRYPTION_KEYS:
            raise ConfigError("FIELD_ENCRYPTION_KEYS: required when DEBUG is off (comma-separated Fernet keys)")
        return self

    @property
    def secret_key(self) -> str:
        return self.SECRET_KEY or DEV_SECRET_KEY

    @property
    def encryption_keys(self) -> list[str]:
        """Fernet keys, newest first; in DEBUG without keys, one derived from the secret key."""
        if self.FIELD_ENCRYPTION_KEYS:
            return self.FIELD_ENCRYPTION_KEYS
        digest = hashlib.sha256(("field-encryption:" + self.secret_key).encode()).digest()
        return [base64.urlsafe_b64encode(digest).decode("ascii")]

    @property
    def connex_environments(self) -> dict[str, str]:
        """The upstreams an account may name, by environment name; unset ones are absent."""
        # The sandbox's default URL is this server itself: offered only where a sandbox can be, never
        # silently in production (an account there would "log in" to whatever answers on that port).
        in_process = DEFAULT_SANDBOX_URL.format(port=self.PORT) if self.DEBUG or self.CONNEX_SANDBOX else None
        sandbox = self.CONNEX_SANDBOX_URL or in_process
        named = {
            "production": self.CONNEX_PRODUCTION_URL,
            "staging": self.CONNEX_STAGING_URL,
            "sandbox": sandbox,
        }
        return {name: url for name, url in named.items() if url}

    @property
    def mailer(self) -> dict:
        """Django's MAILERS["default"]: SMTP, except in DEBUG without an EMAIL_HOST, where mail goes to the console."""
        if self.DEBUG and not self.EMAIL_HOST:
            return {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
        return {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                # Without EMAIL_HOST, production relays through an MTA on the machine itself, as Django does.
                "host": self.EMAIL_HOST or "localhost",
                "port": self.EMAIL_PORT,
                "username": self.EMAIL_HOST_USER,
                "password": self.EMAIL_HOST_PASSWORD,
                "use_tls": self.EMAIL_USE_TLS,
                # A slow mail server must not hold a request (and its worker) for long.
                "timeout": 10,
            },
        }


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    """Build the config from ``environ`` (default: the process environment).

    Raises ConfigError with a single line: ``VARIABLE: what is wrong``.
    """
    source = dict(os.environ if environ is None else environ)
    try:
        return Config(_env_file=None if environ is not None else BASE_DIR / ".env", **_only_known(source))
    except ConfigError:
        raise
    except ValidationError as exc:
        error = exc.errors()[0]
        variable = ".".join(str(part) for part in error["loc"]) or "configuration"
        message = error["msg"].removeprefix("Value error, ")
        if variable in _ECHO_SAFE and isinstance(error.get("input"), str):
            message = f"{message} (got {error['input']!r})"
        raise ConfigError(f"{variable}: {message}") from None


def _only_known(environ: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in environ.items() if name in Config.model_fields}

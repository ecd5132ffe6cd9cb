import pytest

from connexportal.config import ConfigError, load_config

STRONG_KEY = "k" * 20 + "-production-secret-key-0123456789abcdef"
FERNET_KEY = "0Z5VwvxOiYDc4dWcRTs8gDaSqH2kYqYf0S4P3sX1y2c="
PRODUCTION = {"SECRET_KEY": STRONG_KEY, "FIELD_ENCRYPTION_KEYS": FERNET_KEY, "ALLOWED_HOSTS": "portal.example.com"}


def error_for(environ: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(environ)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_defaults_in_debug():
    config = load_config({"DEBUG": "true"})
    assert config.DEBUG is True
    assert config.DATABASE_URL.startswith("sqlite:///")
    assert config.REDIS_URL == ""
    assert config.CONNEX_SANDBOX is False
    assert set(config.connex_environments) == {"staging", "sandbox"}
    assert len(config.encryption_keys) == 1


def test_production_offers_the_sandbox_only_at_an_explicit_url():
    assert "sandbox" not in load_config(PRODUCTION).connex_environments
    explicit = load_config({**PRODUCTION, "CONNEX_SANDBOX_URL": "https://sandbox.example.com"})
    assert explicit.connex_environments["sandbox"] == "https://sandbox.example.com"
    assert load_config({**PRODUCTION, "CONNEX_SANDBOX": "true"}).connex_environments["sandbox"].endswith("/sandbox")


def test_the_in_process_sandbox_is_on_the_port_the_server_serves():
    assert load_config({"DEBUG": "true"}).connex_environments["sandbox"] == "http://127.0.0.1:8000/sandbox"
    on_8600 = load_config({"DEBUG": "true", "PORT": "8600"})
    assert on_8600.connex_environments["sandbox"] == "http://127.0.0.1:8600/sandbox"
    production = load_config({**PRODUCTION, "CONNEX_SANDBOX": "true", "PORT": "8600"})
    assert production.connex_environments["sandbox"] == "http://127.0.0.1:8600/sandbox"
    # A sandbox URL set by hand wins over the port, and production offers no sandbox on a port alone.
    explicit = load_config({"DEBUG": "true", "PORT": "8600", "CONNEX_SANDBOX_URL": "http://127.0.0.1:8100"})
    assert explicit.connex_environments["sandbox"] == "http://127.0.0.1:8100"
    assert "sandbox" not in load_config({**PRODUCTION, "PORT": "8600"}).connex_environments


def test_production_values_parse():
    config = load_config(
        {
            **PRODUCTION,
            "ALLOWED_HOSTS": "portal.example.com, .example.org",
            "DATABASE_URL": "postgres://app@db:5432/portal",
            "REDIS_URL": "redis://cache:6379/1",
            "CONNEX_PRODUCTION_URL": "https://api.connex.example/",
            "CONNEX_SANDBOX": "off",
            "FIELD_ENCRYPTION_KEYS": f"{FERNET_KEY},{FERNET_KEY}",
        }
    )
    assert config.DEBUG is False
    assert config.ALLOWED_HOSTS == ["portal.example.com", ".example.org"]
    assert config.connex_environments["production"] == "https://api.connex.example"
    assert "sandbox" not in config.connex_environments, "production must not offer the sandbox unless told to"
    assert config.encryption_keys == [FERNET_KEY, FERNET_KEY]
    assert config.secret_key == STRONG_KEY


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"DEBUG": "maybe"}, "DEBUG: Input should be a valid boolean, unable to interpret input (got 'maybe')"),
        ({}, "SECRET_KEY: required when DEBUG is off"),
        ({**PRODUCTION, "SECRET_KEY": "short"}, "SECRET_KEY: too weak"),
        ({**PRODUCTION, "SECRET_KEY": "django-insecure-" + "x" * 60}, "SECRET_KEY: too weak"),
        ({**PRODUCTION, "FIELD_ENCRYPTION_KEYS": ""}, "FIELD_ENCRYPTION_KEYS: required when DEBUG is off"),
        ({"DEBUG": "1", "FIELD_ENCRYPTION_KEYS": "not-a-key"}, "FIELD_ENCRYPTION_KEYS: key 1 is not a Fernet key"),
        ({"DEBUG": "1", "DATABASE_URL": "mysql://root@db/portal"}, "DATABASE_URL: unsupported scheme 'mysql'"),
        ({"DEBUG": "1", "DATABASE_URL": "just-a-path"}, "DATABASE_URL: unsupported scheme '(none)'"),
        ({"DEBUG": "1", "REDIS_URL": "memcached://x"}, "REDIS_URL: must start with redis://"),
        ({"DEBUG": "1", "CONNEX_PRODUCTION_URL": "ftp://api"}, "CONNEX_PRODUCTION_URL: must be an http:// or https://"),
        ({"DEBUG": "1", "CONNEX_STAGING_URL": "staging.example"}, "CONNEX_STAGING_URL: must be an http:// or https://"),
        ({"DEBUG": "1", "CONNEX_SANDBOX_URL": "http://x/?a=1"}, "CONNEX_SANDBOX_URL: must not carry a query string"),
        ({"DEBUG": "1", "PORT": "80000"}, "PORT: Input should be less than or equal to 65535 (got '80000')"),
        ({"DEBUG": "1", "CONNEX_SANDBOX": "perhaps"}, "CONNEX_SANDBOX: Input should be a valid boolean"),
        ({"DEBUG": "1", "LOG_LEVEL": "LOUD"}, "LOG_LEVEL: must be one of DEBUG, INFO"),
        ({"DEBUG": "1", "CONNEX_RATE_LIMIT": "-1"}, "CONNEX_RATE_LIMIT: Input should be greater than or equal to 0"),
        ({"DEBUG": "1", "CONNEX_RATE_LIMIT": "fast"}, "CONNEX_RATE_LIMIT: Input should be a valid number"),
    ],
)
def test_each_bad_variable_names_itself(environ, expected):
    assert error_for(environ).startswith(expected)


def test_secret_values_are_not_echoed():
    message = error_for({"DEBUG": "1", "DATABASE_URL": "mysql://root:hunter2@db/portal"})
    assert "hunter2" not in message
    message = error_for({"DEBUG": "1", "FIELD_ENCRYPTION_KEYS": "sekrit-value"})
    assert "sekrit-value" not in message


def test_bad_variable_stops_startup_with_one_line(manage):
    result = manage("check", env={"DEBUG": "true", "DATABASE_URL": "oracle://db/x"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Configuration error: DATABASE_URL: unsupported scheme 'oracle'; use sqlite:///path or "
        "postgres://user@host:port/name"
    ]
    assert "Traceback" not in result.stderr


def test_missing_secret_key_stops_startup(manage):
    result = manage("check", env={"DEBUG": "false"})
    assert result.returncode == 2
    assert "SECRET_KEY: required when DEBUG is off" in result.stderr
    assert "Traceback" not in result.stderr


# --- Logins: admin path, idle sessions, client address, mail --------------------------------


def test_login_defaults():
    config = load_config({"DEBUG": "true"})
    assert config.ADMIN_URL == "admin/"
    assert config.SESSION_IDLE_TIMEOUT == 7200
    assert config.TRUSTED_PROXY_COUNT == 0
    assert config.mailer == {"BACKEND": "django.core.mail.backends.console.EmailBackend"}


def test_production_mails_over_smtp_even_without_a_host():
    mailer = load_config(PRODUCTION).mailer
    assert mailer["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (mailer["OPTIONS"]["host"], mailer["OPTIONS"]["port"]) == ("localhost", 25)


@pytest.mark.parametrize("debug", ["true", "false"])
def test_smtp_settings_reach_the_mailer(debug):
    config = load_config(
        {
            **PRODUCTION,
            "DEBUG": debug,
            "EMAIL_HOST": "smtp.example.com",
            "EMAIL_PORT": "587",
            "EMAIL_HOST_USER": "portal",
            "EMAIL_HOST_PASSWORD": "mail-pass-1",
            "EMAIL_USE_TLS": "true",
            "DEFAULT_FROM_EMAIL": "Connex Portal <portal@example.com>",
        }
    )
    assert config.mailer["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert config.mailer["OPTIONS"] == {
        "host": "smtp.example.com",
        "port": 587,
        "username": "portal",
        "password": "mail-pass-1",
        "use_tls": True,
        "timeout": 10,
    }
    assert config.DEFAULT_FROM_EMAIL == "Connex Portal <portal@example.com>"


def test_login_values_parse():
    config = load_config(
        {"DEBUG": "1", "ADMIN_URL": "staff-7f3a/site/", "SESSION_IDLE_TIMEOUT": "900", "TRUSTED_PROXY_COUNT": "2"}
    )
    assert (config.ADMIN_URL, config.SESSION_IDLE_TIMEOUT, config.TRUSTED_PROXY_COUNT) == ("staff-7f3a/site/", 900, 2)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"ADMIN_URL": "/admin/"}, "ADMIN_URL: must be a relative path ending with '/'"),
        ({"ADMIN_URL": "admin"}, "ADMIN_URL: must be a relative path ending with '/'"),
        ({"ADMIN_URL": ""}, "ADMIN_URL: must be a relative path ending with '/'"),
        ({"ADMIN_URL": "../admin/"}, "ADMIN_URL: must be a relative path ending with '/'"),
        ({"ADMIN_URL": "staff//"}, "ADMIN_URL: must be a relative path ending with '/'"),
        ({"ADMIN_URL": "my admin/"}, "ADMIN_URL: must be a relative path ending with '/'"),
        (
            {"SESSION_IDLE_TIMEOUT": "60"},
            "SESSION_IDLE_TIMEOUT: Input should be greater than or equal to 300 (got '60')",
        ),
        ({"SESSION_IDLE_TIMEOUT": "2h"}, "SESSION_IDLE_TIMEOUT: Input should be a valid integer"),
        ({"TRUSTED_PROXY_COUNT": "-1"}, "TRUSTED_PROXY_COUNT: Input should be greater than or equal to 0"),
        ({"EMAIL_HOST": "smtp://mail.example.com"}, "EMAIL_HOST: must be a host name or IP address only"),
        ({"EMAIL_HOST": "mail.example.com:587"}, "EMAIL_HOST: must be a host name or IP address only"),
        ({"EMAIL_PORT": "0"}, "EMAIL_PORT: Input should be greater than or equal to 1"),
        ({"EMAIL_PORT": "smtp"}, "EMAIL_PORT: Input should be a valid integer"),
        ({"EMAIL_USE_TLS": "maybe"}, "EMAIL_USE_TLS: Input should be a valid boolean"),
        ({"DEFAULT_FROM_EMAIL": "portal"}, "DEFAULT_FROM_EMAIL: must be an email address"),
    ],
)
def test_each_bad_login_variable_names_itself(environ, expected):
    assert error_for({"DEBUG": "1", **environ}).startswith(expected)

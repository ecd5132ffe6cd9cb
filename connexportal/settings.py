"""Django settings for Connex Portal: everything variable comes from ``config``."""

from __future__ import annotations

from datetime import timedelta

import dj_database_url
from django.utils.csp import CSP

from connexportal.config import BASE_DIR, load_config

CONFIG = load_config()

DEBUG = CONFIG.DEBUG
SECRET_KEY = CONFIG.secret_key
# The DEBUG page lists every setting (CONFIG too, whose repr masks its secrets): URL passwords
# are masked as well as the names Django knows (connexportal/core/debug.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "connexportal.core.debug.SecretsFilter"
ALLOWED_HOSTS = CONFIG.ALLOWED_HOSTS or (["127.0.0.1", "localhost", "testserver"] if DEBUG else [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "connexportal.core",
    "connexportal.accounts",
    "connexportal.portal",
    "connexportal.embed",
    "connexportal.sandbox",
    "connexportal.webhooks",
    "connexportal.activity",
    "connexportal.imports",
    "django_tasks_db",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages compressed (static files come precompressed from WhiteNoise above). Django's gzip pads
    # each response at random (Heal The BREACH) and CSRF tokens are masked per response.
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "connexportal.embed.middleware.EmbedSessionMiddleware",
    "connexportal.accounts.middleware.MerchantMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "connexportal.accounts.middleware.IdleSessionMiddleware",
    "connexportal.embed.middleware.EmbedFramingMiddleware",
    # Last, so that its lockout page still passes through CSP, framing and session middleware.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "connexportal.urls"
WSGI_APPLICATION = "connexportal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "connexportal.accounts.context_processors.branding",
            ],
        },
    },
]

DATABASES = {"default": dj_database_url.parse(CONFIG.DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

if CONFIG.REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "connexportal.core.cache.PooledRedisCache",
            "LOCATION": CONFIG.REDIS_URL,
            "KEY_PREFIX": "connexportal",
            "TIMEOUT": 300,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "connexportal"}}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
ADMIN_URL = CONFIG.ADMIN_URL

# Logins (the portal's and the admin's) go through axes first: it refuses a locked-out email +
# address before the password is checked. The portal backend refuses inactive merchants/partners.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "connexportal.accounts.backends.PortalBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The login forms' field (and authenticate()'s keyword) is "username"; it holds the email.
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "connexportal.accounts.backends.login_username"
AXES_CLIENT_IP_CALLABLE = "connexportal.accounts.backends.client_ip"
AXES_LOCKOUT_CALLABLE = "connexportal.accounts.views.locked_out"
# Logins are recorded by the activity trail; axes keeps only the failure counts it locks out on.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
# A password-reset link works once, and for an hour.
PASSWORD_RESET_TIMEOUT = 3600
# How many proxies in front of the portal append to X-Forwarded-For (0: trust REMOTE_ADDR alone).
TRUSTED_PROXY_COUNT = CONFIG.TRUSTED_PROXY_COUNT

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Security. Production runs behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SESSION_COOKIE_HTTPONLY = True
# Sessions are read on every page: from the cache (Redis in production), written through to the database.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# Idle sessions end after this many seconds (IdleSessionMiddleware). A stored session outlives
# that by a day only so that a user who comes back is told why they were logged out.
SESSION_IDLE_TIMEOUT = CONFIG.SESSION_IDLE_TIMEOUT
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT + 86400
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "plain"},
    },
    "root": {"handlers": ["stdout"], "level": CONFIG.LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # The Connex client logs one scrubbed line per call; httpx's own line would repeat it.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

CONNEX_ENVIRONMENTS = CONFIG.connex_environments
CONNEX_SANDBOX = CONFIG.CONNEX_SANDBOX
CONNEX_RATE_LIMIT = CONFIG.CONNEX_RATE_LIMIT
CONNEX_MAX_THROTTLE_WAIT = CONFIG.CONNEX_MAX_THROTTLE_WAIT
# Partner API requests per API key per minute (answers past it: 429 with Retry-After).
PARTNER_API_RATE_LIMIT = 120
FIELD_ENCRYPTION_KEYS = CONFIG.encryption_keys
ACTIVITY_RETENTION_DAYS = CONFIG.ACTIVITY_RETENTION_DAYS

# Mail (password resets): SMTP, or the console in DEBUG when no EMAIL_HOST is set.
MAILERS = {"default": CONFIG.mailer}
DEFAULT_FROM_EMAIL = CONFIG.DEFAULT_FROM_EMAIL

# Background work (webhook deliveries, run watches) is stored in the database and run by
# `python manage.py db_worker`; tasks queued in a transaction exist only if it commits.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# Webhooks to loopback addresses, plain http to localhost included: only for the demo partner
# app in development. Private, link-local and other internal addresses are refused regardless
# (connexportal/webhooks/targets.py).
WEBHOOK_ALLOW_LOOPBACK = DEBUG

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
import zoneinfo
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from connexportal.accounts import crypto
from connexportal.webhooks.targets import TargetError, check_target

API_KEY_PREFIX = "cxp_"
COLOR_PATTERN = re.compile(r"^#[0-9a-fA-F]{6}$")
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


def validate_color(value: str) -> None:
    if not COLOR_PATTERN.match(value or ""):
        raise ValidationError(_("Use a colour as #rrggbb, for example #1f5fbf."))


# scheme://host[:port] and nothing else. The host part is checked further below: a DNS name or
# an IP literal. Origins are written into the Content-Security-Policy header, where a space, a
# quote, a comma or a ';' would end the source and start a new one (or a new directive).
ORIGIN_PATTERN = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<host>\[[^\]]*\]|[^/:?#@\[\]]+)(?::(?P<port>[0-9]*))?")
DNS_LABEL_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def parse_origins(text: str) -> list[str]:
    """The origins written one per line (or separated by spaces or commas), each once."""
    return list(dict.fromkeys(part.strip() for part in re.split(r"[\s,]+", text or "") if part.strip()))


def _is_origin_host(host: str) -> bool:
    """A DNS name of letters, digits and hyphens (an IDNA name in its xn-- form), an IPv4 address
    or a bracketed IPv6 address: what a browser writes in an origin, nothing else."""
    if host.startswith("["):
        if "%" in host:  # a zone id names an interface of one machine, never a web origin
            return False
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return False
        return host.endswith("]")
    if len(host) > 253:
        return False
    labels = host.split(".")
    if not all(DNS_LABEL_PATTERN.fullmatch(label) for label in labels):
        return False
    if labels[-1].isdigit():
        # Only a whole IPv4 address may end in a number (1.2.3 or 999.1.1.1 are neither).
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return False
    return True


def validate_origin(origin: str) -> None:
    """An exact origin: scheme://host[:port], https (plain http only for localhost, for development).

    The host must be a DNS name or an IP literal, written as a browser serializes it, so that no
    stored origin can add anything else to the frame-ancestors policy it is written into.
    """
    lowered = origin.lower()
    match = ORIGIN_PATTERN.fullmatch(lowered)
    try:
        parts = urlsplit(origin)
    except ValueError:  # an unbalanced or invalid [IPv6] host
        parts = None
    problem = None
    params = {"origin": origin}
    if parts is None or parts.scheme not in ("https", "http") or not parts.hostname:
        problem = _("%(origin)s is not an origin; write it as https://host or https://host:port.")
    elif parts.path or parts.query or parts.fragment or parts.username or parts.password:
        problem = _("%(origin)s must be an origin only: no path, query, fragment or credentials.")
    elif "*" in origin:
        problem = _("%(origin)s must be written exactly, in lower case, without wildcards.")
    elif match is None or not _is_origin_host(match["host"]):
        ascii_form = _idna_origin(origin)
        if ascii_form and ascii_form != origin:
            problem = _("%(origin)s must be written with its host in ASCII: %(ascii)s.")
            params["ascii"] = ascii_form
        else:
            problem = _("%(origin)s has no valid host name: use letters, digits, hyphens and dots, or an IP address.")
    elif match["port"] is not None and not (match["port"] and match["port"][0] != "0" and int(match["port"]) <= 65535):
        problem = _("%(origin)s has an invalid port.")
    elif match["scheme"] == "http" and match["host"] not in LOCAL_HOSTS:
        problem = _("%(origin)s must use https (plain http is only allowed for localhost).")
    elif origin != lowered:
        problem = _("%(origin)s must be written exactly, in lower case, without wildcards.")
    if problem:
        raise ValidationError(problem, params=params)


def _idna_origin(origin: str) -> str | None:
    """``origin`` with an internationalised host in its ASCII (xn--) form, if it has one."""
    match = ORIGIN_PATTERN.fullmatch(origin.lower())
    if match is None or match["host"].isascii():
        return None
    try:
        host = match["host"].encode("idna").decode("ascii")
    except UnicodeError:
        return None
    if not _is_origin_host(host):
        return None
    port = f":{match['port']}" if match["port"] is not None else ""
    return f"{match['scheme']}://{host}{port}"


def validate_embed_origins(text: str) -> None:
    errors = []
    for origin in parse_origins(text):
        try:
            validate_origin(origin)
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ValidationError(errors)


def validate_webhook_url(value: str) -> None:
    """The URL and every address its host resolves to now; each delivery checks them again."""
    if not value:
        return
    try:
        check_target(value)
    except TargetError as exc:
        raise ValidationError(exc.message, code="webhook_target", params=exc.params) from exc


def hash_api_key(plaintext: str) -> str:
    # Keys are 256-bit random: a fast hash is enough, and lets every API call check one.
    return hashlib.sha256(plaintext.encode()).hexdigest()


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone (e.g. America/New_York)."), params={"value": value})


class Theme(models.TextChoices):
    LIGHT = "light", _("Light")
    DARK = "dark", _("Dark")


class EmbedChrome(models.TextChoices):
    FULL = "full", _("Full header")
    COMPACT = "compact", _("Compact header")
    NONE = "none", _("No header")


class Partner(models.Model):
    """A white-label owner: it brands the portal, embeds it in its software and provisions merchants."""

    name = models.CharField(_("display name"), max_length=120, unique=True)
    logo = models.BinaryField(_("logo"), blank=True, null=True, editable=False)
    logo_content_type = models.CharField(max_length=32, blank=True, editable=False)
    primary_color = models.CharField(_("primary colour"), max_length=7, default="#1f5fbf", validators=[validate_color])
    accent_color = models.CharField(_("accent colour"), max_length=7, default="#0d8a6a", validators=[validate_color])
    theme = models.CharField(_("theme"), max_length=5, choices=Theme.choices, default=Theme.LIGHT)
    default_language = models.CharField(
        _("default language"), max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    embed_origins = models.TextField(
        _("allowed embed origins"),
        blank=True,
        validators=[validate_embed_origins],
        help_text=_("One origin per line, exactly as the browser sends it: https://app.example.com[:port]."),
    )
    hide_products = models.BooleanField(_("hide products"), default=False)
    hide_orders = models.BooleanField(_("hide orders"), default=False)
    allow_run_now = models.BooleanField(_("allow Run now"), default=True)
    allow_credential_editing = models.BooleanField(
        _("merchants may edit their Connex login"),
        default=True,
        help_text=_("Turn off when you provision your merchants' Connex credentials yourself (admin or API)."),
    )
    service_name = models.CharField(
        _("service name"),
        max_length=60,
        default="Connex",
        help_text=_("What merchants read where the portal names the sync service, e.g. Connex or your own brand."),
    )
    embed_chrome = models.CharField(
        _("header when embedded"),
        max_length=8,
        choices=EmbedChrome.choices,
        default=EmbedChrome.NONE,
        help_text=_("Inside your software, show the portal's own brand header in full, compact, or not at all."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("partner")
        verbose_name_plural = _("partners")

    def __str__(self) -> str:
        return self.name

    @property
    def origins(self) -> list[str]:
        return parse_origins(self.embed_origins)

    def set_logo(self, content: bytes, content_type: str) -> None:
        self.logo = content
        self.logo_content_type = content_type


class PartnerApiKey(models.Model):
    """A server-to-server key. Only a hash is stored; the key is shown once, when created."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="api_keys", verbose_name=_("partner"))
    name = models.CharField(_("name"), max_length=100, default="default")
    prefix = models.CharField(_("key prefix"), max_length=12, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("partner API key")
        verbose_name_plural = _("partner API keys")

    def __str__(self) -> str:
        return f"{self.partner} · {self.name} ({API_KEY_PREFIX}{self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def issue(cls, partner: Partner, name: str = "default") -> tuple[PartnerApiKey, str]:
        """Create a key; returns it with the plaintext, which is never stored or shown again."""
        prefix = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        plaintext = f"{API_KEY_PREFIX}{prefix}_{secret}"
        key = cls.objects.create(partner=partner, name=name, prefix=prefix, key_hash=hash_api_key(plaintext))
        return key, plaintext

    @classmethod
    def authenticate(cls, plaintext: str) -> PartnerApiKey | None:
        """The active key this plaintext is, else None (compared in constant time)."""
        if not plaintext.startswith(API_KEY_PREFIX):
            return None
        prefix = plaintext.removeprefix(API_KEY_PREFIX).split("_", 1)[0]
        key = cls.objects.select_related("partner").filter(prefix=prefix, revoked_at__isnull=True).first()
        if key is None or not hmac.compare_digest(key.key_hash, hash_api_key(plaintext)):
            return None
        if not key.partner.is_active:
            return None
        return key


class Merchant(models.Model):
    """A business whose Connex account the portal shows; its users log in to see it."""

    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, null=True, blank=True, related_name="merchants", verbose_name=_("partner")
    )
    external_id = models.CharField(
        _("external id"),
        max_length=100,
        blank=True,
        validators=[RegexValidator(r"\A[A-Za-z0-9._:@-]{1,100}\Z", _("Use letters, digits and . _ : @ - only."))],
        help_text=_("The partner's own id for this merchant, used by the partner API."),
    )
    name = models.CharField(_("name"), max_length=200)
    timezone = models.CharField(
        _("time zone"),
        max_length=64,
        default="UTC",
        validators=[validate_timezone],
        help_text=_("Local times beside UTC on the settings page use this zone."),
    )
    currency = models.CharField(
        _("currency"),
        max_length=3,
        default="USD",
        validators=[RegexValidator(r"\A[A-Z]{3}\Z", _("Use a three-letter ISO 4217 code such as USD."))],
        help_text=_("Amounts from Connex are shown in this currency."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "external_id"],
                condition=~models.Q(external_id=""),
                name="merchant_external_id_per_partner",
            )
        ]
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")

    def __str__(self) -> str:
        return self.name


class ConnexEnvironment(models.TextChoices):
    PRODUCTION = "production", _("Production")
    STAGING = "staging", _("Staging")
    SANDBOX = "sandbox", _("Sandbox")


class ConnexAccount(models.Model):
    """A merchant's Connex login. The password is encrypted at rest and never shown again."""

    merchant = models.OneToOneField(
        Merchant, on_delete=models.CASCADE, related_name="connex_account", verbose_name=_("merchant")
    )
    environment = models.CharField(_("environment"), max_length=16, choices=ConnexEnvironment.choices)
    username = models.CharField(_("Connex username"), max_length=254)
    password_encrypted = models.TextField(editable=False)
    verified_at = models.DateTimeField(
        _("verified"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When Connex last accepted exactly these credentials; empty until then, and they are not used."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("Connex account")
        verbose_name_plural = _("Connex accounts")

    def __str__(self) -> str:
        return f"{self.username} ({self.get_environment_display()})"

    def set_password(self, raw_password: str) -> None:
        self.password_encrypted = crypto.encrypt(raw_password)

    def get_password(self) -> str:
        return crypto.decrypt(self.password_encrypted)

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    @property
    def base_url(self) -> str | None:
        """The upstream for this account's environment, or None when that environment is not configured."""
        return settings.CONNEX_ENVIRONMENTS.get(self.environment)

    def clean(self) -> None:
        if self.environment and self.environment not in settings.CONNEX_ENVIRONMENTS:
            raise ValidationError(
                {
                    "environment": _("The %(env)s environment is not configured on this server.")
                    % {"env": self.environment}
                }
            )


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person who logs in with an email address: staff, a user of one merchant, or a user of one
    partner (the partner console at /partner/; never staff and never a merchant's)."""

    username = None
    email = models.EmailField(_("email address"), unique=True)
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, null=True, blank=True, related_name="users", verbose_name=_("merchant")
    )
    partner = models.ForeignKey(
        Partner,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="console_users",
        verbose_name=_("partner"),
        help_text=_("A user of this partner's console: sees only this partner's merchants, keys and settings."),
    )
    is_partner_admin = models.BooleanField(
        _("partner administrator"),
        default=False,
        help_text=_("May also change merchants, API keys, webhooks and branding in the partner console."),
    )
    language = models.CharField(
        _("language"),
        max_length=8,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("The portal's language for this user; empty follows the partner's default and the browser."),
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(partner__isnull=True)
                | models.Q(merchant__isnull=True, is_staff=False, is_superuser=False),
                name="partner_user_has_no_merchant_and_is_not_staff",
                violation_error_message=_("A partner's user cannot also be a merchant's user or staff."),
            )
        ]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

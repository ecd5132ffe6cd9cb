from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from connexportal.accounts import crypto


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone (e.g. America/New_York)."), params={"value": value})


class Merchant(models.Model):
    """A business whose Connex account the portal shows; its users log in to see it."""

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
        validators=[RegexValidator(r"^[A-Z]{3}$", _("Use a three-letter ISO 4217 code such as USD."))],
        help_text=_("Amounts from Connex are shown in this currency."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
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

    merchant = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="connex_account")
    environment = models.CharField(_("environment"), max_length=16, choices=ConnexEnvironment.choices)
    username = models.CharField(_("Connex username"), max_length=254)
    password_encrypted = models.TextField(editable=False)
    updated_at = models.DateTimeField(auto_now=True)

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
    """A person who logs in with an email address: staff, or a user of one merchant."""

    username = None
    email = models.EmailField(_("email address"), unique=True)
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, null=True, blank=True, related_name="users", verbose_name=_("merchant")
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

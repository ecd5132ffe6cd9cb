"""The partner console's forms. Validation is the models' and the admin's own: colours, origins,
logos (accounts.models, accounts.branding, accounts.admin.PartnerForm), ids, zones and currencies."""

from __future__ import annotations

import zoneinfo

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from connexportal.accounts.admin import PartnerForm
from connexportal.accounts.models import (
    COLOR_PATTERN,
    ConnexEnvironment,
    EmbedChrome,
    Merchant,
    Partner,
    PartnerApiKey,
    Theme,
)
from connexportal.portal.credentials import Credentials
from connexportal.webhooks.models import EventType, WebhookEndpoint


def _environment_choices() -> list[tuple[str, str]]:
    configured = set(settings.CONNEX_ENVIRONMENTS)
    return [("", "—")] + [(value, label) for value, label in ConnexEnvironment.choices if value in configured]


class MerchantForm(forms.ModelForm):
    """A merchant and, optionally, its Connex login, tried against Connex before anything is saved."""

    timezone = forms.ChoiceField(label=_("Time zone"), initial="UTC")
    connex_environment = forms.ChoiceField(label=_("Connex environment"), required=False)
    connex_username = forms.CharField(label=_("Connex username"), required=False, max_length=254)
    connex_password = forms.CharField(
        label=_("Connex password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = Merchant
        fields = ("external_id", "name", "timezone", "currency")
        help_texts = {"external_id": _("Your own id for this merchant, used by the partner API. It cannot change.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = [(name, name) for name in sorted(zoneinfo.available_timezones())]
        self.fields["connex_environment"].choices = _environment_choices()
        self.fields["currency"].widget.attrs.update({"maxlength": 3, "autocapitalize": "characters"})
        account = getattr(self.instance, "connex_account", None) if self.instance.pk else None
        self.account = account
        if self.instance.pk:
            del self.fields["external_id"]
            self.fields["connex_password"].help_text = _("Leave blank to keep the current password.")
            if account is not None:
                self.fields["connex_environment"].initial = account.environment
                self.fields["connex_username"].initial = account.username
        else:
            self.fields["external_id"].required = True
            self.fields["connex_password"].help_text = _(
                "Optional: without a login the merchant connects their own account on first visit."
            )

    def clean_external_id(self):
        value = self.cleaned_data["external_id"]
        if value in (".", ".."):
            raise ValidationError(_("This id cannot be used: it cannot appear in a web address."))
        return value

    def clean_currency(self):
        return self.cleaned_data["currency"].upper()

    def clean(self):
        cleaned = super().clean()
        environment = cleaned.get("connex_environment", "")
        username = cleaned.get("connex_username", "").strip()
        password = cleaned.get("connex_password", "")
        cleaned["connex_username"] = username
        if self.account is None and any((environment, username, password)):
            for name, value in (
                ("connex_environment", environment),
                ("connex_username", username),
                ("connex_password", password),
            ):
                if not value:
                    self.add_error(name, _("Needed with the rest of the Connex login."))
        if self.account is not None and not username:
            self.add_error("connex_username", _("Enter the Connex username."))
        if self.account is not None and not environment:
            self.add_error("connex_environment", _("Choose the Connex environment."))
        return cleaned

    @property
    def merchant_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self._meta.fields if name in self.cleaned_data}

    def credentials(self) -> Credentials | None:
        """A new merchant's Connex login, when one was given."""
        data = self.cleaned_data
        if not data.get("connex_username"):
            return None
        return Credentials(data["connex_environment"], data["connex_username"], data["connex_password"])

    def merchant_changes(self) -> dict:
        """The merchant's fields that differ from what the form was opened with (its saved values)."""
        return {
            name: self.cleaned_data[name]
            for name in ("name", "timezone", "currency")
            if self.cleaned_data[name] != self.initial.get(name)
        }

    def credential_changes(self) -> dict | None:
        """What changes in an existing merchant's Connex login (None: nothing)."""
        data, account = self.cleaned_data, self.account
        changes = {}
        if account is None:
            if data.get("connex_username"):
                changes = {
                    "environment": data["connex_environment"],
                    "username": data["connex_username"],
                    "password": data["connex_password"],
                }
            return changes or None
        if data["connex_environment"] != account.environment:
            changes["environment"] = data["connex_environment"]
        if data["connex_username"] != account.username:
            changes["username"] = data["connex_username"]
        if data.get("connex_password"):
            changes["password"] = data["connex_password"]
        return changes or None


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = PartnerApiKey
        fields = ("name",)
        help_texts = {"name": _("Say where it is used, e.g. production server. The key itself is shown once.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].initial = ""


BRANDING_FIELDS = (
    "primary_color",
    "accent_color",
    "theme",
    "default_language",
    "service_name",
    "embed_chrome",
    "embed_origins",
    "hide_products",
    "hide_orders",
    "allow_run_now",
    "allow_credential_editing",
)


class BrandingForm(PartnerForm):
    """The admin's partner form without what only staff decide (the name, whether it is active)."""

    class Meta(PartnerForm.Meta):
        fields = BRANDING_FIELDS


class PreviewForm(forms.Form):
    """The unsaved branding values the preview shows; anything invalid falls back to the saved value."""

    primary_color = forms.RegexField(regex=COLOR_PATTERN, required=False)
    accent_color = forms.RegexField(regex=COLOR_PATTERN, required=False)
    theme = forms.ChoiceField(choices=Theme.choices, required=False)
    service_name = forms.CharField(max_length=Partner._meta.get_field("service_name").max_length, required=False)
    embed_chrome = forms.ChoiceField(choices=EmbedChrome.choices, required=False)
    hide_products = forms.BooleanField(required=False)
    hide_orders = forms.BooleanField(required=False)
    allow_run_now = forms.BooleanField(required=False)

    def values(self, partner: Partner) -> dict:
        """Each field's value to preview: the one sent when valid, else the partner's saved one.

        The console sends the whole form, where an unchecked box is simply absent (off); with
        nothing sent at all the preview shows what is saved.
        """
        if not self.data:
            return {name: getattr(partner, name) for name in self.fields}
        self.is_valid()
        values = {}
        for name, form_field in self.fields.items():
            value = self.cleaned_data.get(name)
            if isinstance(form_field, forms.BooleanField):
                values[name] = bool(value)
            else:
                values[name] = value if name not in self.errors and value else getattr(partner, name)
        return values


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(
        label=_("URL"),
        max_length=WebhookEndpoint._meta.get_field("url").max_length,
        assume_scheme="https",
        help_text=WebhookEndpoint._meta.get_field("url").help_text,
    )
    description = forms.CharField(
        label=_("Description"), max_length=WebhookEndpoint._meta.get_field("description").max_length, required=False
    )
    event_types = forms.MultipleChoiceField(
        label=_("Event types"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(value, label) for value, label in EventType.choices if value != EventType.PING],
        help_text=_("None ticked: every event type, including ones added later."),
    )

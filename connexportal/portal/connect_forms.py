"""The connect form (a Connex login) and the pair-again form (a channel's pairing values)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from connexportal.portal.connect import PairingFields


class WriteOnlyTextInput(forms.TextInput):
    """A text box that never shows a value back, not even the one just typed into it."""

    def format_value(self, value):
        return None


class ConnectForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "spellcheck": "false", "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=254,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class PairForm(forms.Form):
    """The channel's pairing values, labelled for that channel; values are written, never shown."""

    def __init__(self, *args, fields: PairingFields, **kwargs):
        super().__init__(*args, **kwargs)
        # New values for a channel, not a login to this site: password managers should keep out.
        self.fields["login"] = forms.CharField(
            label=fields.login,
            max_length=2000,
            widget=WriteOnlyTextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"}),
        )
        self.fields["secret"] = forms.CharField(
            label=fields.secret,
            max_length=4000,
            widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        )
        if fields.parameter is not None:
            self.fields["parameter"] = forms.CharField(
                label=fields.parameter,
                help_text=fields.parameter_help or "",
                max_length=2000,
                widget=WriteOnlyTextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
            )

    def pairing_values(self) -> dict[str, str]:
        return {name: self.cleaned_data[name] for name in self.fields}

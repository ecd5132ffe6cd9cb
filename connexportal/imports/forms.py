from __future__ import annotations

from django import forms
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from connexportal.imports.orders import MAX_FILE_BYTES, MAX_ORDERS


class OrderImportForm(forms.Form):
    connection = forms.TypedChoiceField(label=_("Connection"), coerce=int)
    file = forms.FileField(
        label=_("File (CSV or JSON)"),
        help_text=_("Up to %(orders)s orders and %(size)s.")
        % {"orders": f"{MAX_ORDERS:,}", "size": filesizeformat(MAX_FILE_BYTES)},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.json,text/csv,application/json"}),
    )
    valid_only = forms.BooleanField(
        label=_("Import the valid rows only"),
        required=False,
        help_text=_("Otherwise a file with problems is not imported: you see every problem first."),
    )

    def __init__(self, *args, connections: dict[int, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["connection"].choices = [(pk, f"{name} (#{pk})") for pk, name in connections.items()]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                _("The file is %(size)s; the most an import takes is %(max)s. Split it into several files.")
                % {"size": filesizeformat(upload.size), "max": filesizeformat(MAX_FILE_BYTES)}
            )
        return upload

"""Forms of the merchant pages: every value the browser sends is validated here first."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from connexportal.connex import routes
from connexportal.portal import labels

EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
MAX_FUTURE = dt.timedelta(days=366)
MAX_WINDOW = dt.timedelta(days=366)

# Per window: its name, the labels of its two ends, and its help. Whole phrases, so that each
# language can word them its own way.
WINDOW_LABELS = {
    "LastDownloadUtc": (
        _("Order download"),
        _("Order download from (UTC)"),
        _("Order download to (UTC)"),
        _("Orders placed in this window are downloaded from the channel."),
    ),
    "LastProductDownloadUtc": (
        _("Product download"),
        _("Product download from (UTC)"),
        _("Product download to (UTC)"),
        _("Products changed in this window come from the channel."),
    ),
    "LastProductUploadUtc": (
        _("Product upload"),
        _("Product upload from (UTC)"),
        _("Product upload to (UTC)"),
        _("Products changed in this window are sent to the channel."),
    ),
}
UTC_INPUT_FORMAT = "%Y-%m-%dT%H:%M"
CONNEX_VALUE_FORMAT = "%Y-%m-%dT%H:%M:%S"


def parse_connex_timestamp(value: str | None) -> dt.datetime | None:
    """A Connex setting value (no zone, means UTC; up to 7 fractional digits) as an aware datetime."""
    if not value:
        return None
    text = value.strip().removesuffix("Z")
    if "." in text:
        head, fraction = text.split(".", 1)
        text = f"{head}.{fraction[:6]}"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def format_connex_timestamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime(CONNEX_VALUE_FORMAT)


class UTCDateTimeField(forms.DateTimeField):
    """A datetime-local input whose value is read as UTC, whatever the server's zone."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local", "step": "60"}, format=UTC_INPUT_FORMAT)
    input_formats = [UTC_INPUT_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, dt.datetime):
            return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        for fmt in self.input_formats:
            try:
                return dt.datetime.strptime(value.strip(), fmt).replace(tzinfo=dt.UTC)
            except ValueError:
                continue
        raise forms.ValidationError(_("Enter a date and time as YYYY-MM-DD HH:MM (UTC)."), code="invalid")

    def prepare_value(self, value):
        if isinstance(value, dt.datetime):
            return value.astimezone(dt.UTC).strftime(UTC_INPUT_FORMAT)
        return value


class SyncSettingsForm(forms.Form):
    """The settings a merchant may edit: three UTC windows and the summary mode.

    Built from the connection's current settings; ``changed_settings()`` yields only what
    the user actually changed, so settings the page does not edit are never sent.
    """

    def __init__(self, *args, current: dict[str, str], **kwargs):
        self.current = current
        initial = {}
        for start_name, end_name in routes.WINDOW_SETTINGS:
            initial[start_name] = parse_connex_timestamp(current.get(start_name))
            initial[end_name] = parse_connex_timestamp(current.get(end_name))
        initial["SummaryTransactionGroupBy"] = current.get("SummaryTransactionGroupBy", "")
        super().__init__(*args, initial=initial, **kwargs)
        for start_name, end_name in routes.WINDOW_SETTINGS:
            _title, start_label, end_label, help_text = WINDOW_LABELS[start_name]
            self.fields[start_name] = UTCDateTimeField(label=start_label)
            self.fields[end_name] = UTCDateTimeField(label=end_label, help_text=help_text)
            for name in (start_name, end_name):
                self.fields[name].required = bool(current.get(name))
        self.fields["SummaryTransactionGroupBy"] = forms.ChoiceField(
            label=_("How sales reach QuickBooks"),
            choices=self.summary_choices(),
            required=False,
            help_text=_("A summary keeps QuickBooks tidy; individual sales post every order on its own."),
        )

    def summary_choices(self) -> list[tuple[str, str]]:
        choices = [(str(value), label) for value, label in labels.SUMMARY_GROUP_BY.items()]
        current = self.current.get("SummaryTransactionGroupBy", "")
        known = {value for value, _label in choices}
        if current and current not in known:
            choices.append((current, _("Current setting (%(value)s), not known to this portal") % {"value": current}))
        if not current:
            choices.insert(0, ("", _("Not set (Connex default)")))
        return choices

    def window_rows(self):
        """(label, start field, end field, start name) per window, for the template."""
        for start_name, end_name in routes.WINDOW_SETTINGS:
            yield WINDOW_LABELS[start_name][0], self[start_name], self[end_name], start_name

    def clean(self):
        cleaned = super().clean()
        now = timezone.now()
        for start_name, end_name in routes.WINDOW_SETTINGS:
            start, end = cleaned.get(start_name), cleaned.get(end_name)
            for name, value in ((start_name, start), (end_name, end)):
                if value is None:
                    continue
                if value < EARLIEST:
                    self.add_error(name, _("Choose a date after 1 January 2000."))
                elif value > now + MAX_FUTURE:
                    self.add_error(name, _("Choose a date less than a year from now."))
            if (start is None) != (end is None) and not self.has_error(start_name) and not self.has_error(end_name):
                missing = end_name if end is None else start_name
                self.add_error(missing, _("Give both ends of the window, or neither."))
            if start and end and not self.has_error(start_name) and not self.has_error(end_name):
                if start > end:
                    self.add_error(end_name, _("The end must be on or after the start."))
                elif end - start > MAX_WINDOW:
                    self.add_error(end_name, _("A window can span at most 366 days."))
        return cleaned

    def changed_settings(self) -> dict[str, str]:
        changes: dict[str, str] = {}
        for start_name, end_name in routes.WINDOW_SETTINGS:
            for name in (start_name, end_name):
                value = self.cleaned_data.get(name)
                if value is None:
                    continue
                before = parse_connex_timestamp(self.current.get(name))
                if before is None or before.replace(second=0, microsecond=0) != value:
                    changes[name] = format_connex_timestamp(value)
        summary = self.cleaned_data.get("SummaryTransactionGroupBy", "")
        if summary != "" and summary != self.current.get("SummaryTransactionGroupBy", ""):
            changes["SummaryTransactionGroupBy"] = summary
        return changes


class WindowPreviewForm(forms.Form):
    LastDownloadUtc = UTCDateTimeField()
    LastDownloadUtcEnd = UTCDateTimeField()

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("LastDownloadUtc"), cleaned.get("LastDownloadUtcEnd")
        # Bounded as the settings are: a date near year 1 or 9999 overflows once shifted to a zone.
        latest = timezone.now() + MAX_FUTURE
        if any(value is not None and value < EARLIEST for value in (start, end)):
            raise forms.ValidationError(_("Choose a date after 1 January 2000."))
        if any(value is not None and value > latest for value in (start, end)):
            raise forms.ValidationError(_("Choose a date less than a year from now."))
        if start and end and start > end:
            raise forms.ValidationError(_("The end must be on or after the start."))
        return cleaned


PAGE_SIZES = (10, 25, 50, 100)
# 100,000 pages hold a million rows at the smallest page size: no merchant list is longer, and
# a bound keeps an absurd number typed into the URL from ever reaching Connex.
MAX_PAGE = 100_000
PRODUCT_SORTS = {
    "name": _("Name"),
    "sku": _("SKU"),
    "salesPrice": _("Price"),
    "quantityOnHand": _("On hand"),
    "updatedAt": _("Updated"),
}
ORDER_SORTS = {"orderDate": _("Date"), "orderNumber": _("Order"), "totalProductSales": _("Total")}


class ListQueryForm(forms.Form):
    """Paging, search and sort: the query string of a list page.

    A bad value never fails the page: it is left out (the page uses its default) and its error,
    worded to say so, is shown as a note above the results (``notes()``).
    """

    sorts: dict[str, str] = {}
    default_sort = ""
    default_dir = "asc"

    page = forms.IntegerField(
        min_value=1,
        max_value=MAX_PAGE,
        required=False,
        error_messages={
            "invalid": _("The page number is not a whole number; showing the first page."),
            "min_value": _("Page numbers start at 1; showing the first page."),
            "max_value": _("Page numbers stop at %(limit_value)s; showing the first page."),
        },
    )
    size = forms.TypedChoiceField(
        choices=[(n, n) for n in PAGE_SIZES],
        coerce=int,
        required=False,
        error_messages={"invalid_choice": _("Rows per page can be 10, 25, 50 or 100; showing 25.")},
    )
    q = forms.CharField(
        max_length=100,
        required=False,
        strip=True,
        error_messages={"max_length": _("A search can be at most 100 characters; showing everything.")},
    )
    sort = forms.CharField(required=False)
    dir = forms.ChoiceField(
        choices=[("asc", "asc"), ("desc", "desc")],
        required=False,
        error_messages={"invalid_choice": _("The sort direction can only be ascending or descending.")},
    )
    connection = forms.IntegerField(
        min_value=1,
        required=False,
        error_messages={
            "invalid": _("That connection is not known; showing all connections."),
            "min_value": _("That connection is not known; showing all connections."),
        },
    )

    def clean_sort(self):
        value = self.cleaned_data.get("sort")
        if value and value not in self.sorts:
            raise forms.ValidationError(_("The list cannot be sorted that way; showing the usual order."))
        return value or self.default_sort

    def clean_dir(self):
        return self.cleaned_data.get("dir") or self.default_dir

    def clean_page(self):
        return self.cleaned_data.get("page") or 1

    def clean_size(self):
        return self.cleaned_data.get("size") or PAGE_SIZES[1]

    def notes(self) -> list[str]:
        """Every problem found in the query, once each, in field order."""
        notes: list[str] = []
        for errors in self.errors.values():
            notes.extend(error for error in errors if error not in notes)
        return notes

    def context(self) -> dict:
        """What the page needs from the query besides paging, search and sort."""
        return {}


class ProductQueryForm(ListQueryForm):
    sorts = PRODUCT_SORTS
    default_sort = "name"
    manual = forms.BooleanField(required=False)
    unknown = forms.BooleanField(required=False)
    type = forms.TypedChoiceField(
        choices=[("", "")] + [(str(value), label) for value, label in labels.PRODUCT_TYPES.items()],
        coerce=int,
        empty_value=None,
        required=False,
        error_messages={"invalid_choice": _("That product type is not known; showing all types.")},
    )


ORDER_RANGE_DEFAULT = dt.timedelta(days=30)


class OrderQueryForm(ListQueryForm):
    """Adds the order date range: whole days from 2000 to a year ahead, so no date sent to Connex
    (or computed from one, a day either side) can fall outside what a date can hold."""

    sorts = ORDER_SORTS
    default_sort = "orderDate"
    default_dir = "desc"
    start = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("The start date is not a date (use YYYY-MM-DD); showing the usual range.")},
    )
    end = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("The end date is not a date (use YYYY-MM-DD); showing the usual range.")},
    )

    @staticmethod
    def date_bounds() -> tuple[dt.date, dt.date]:
        return EARLIEST.date(), timezone.now().date() + MAX_FUTURE

    def _clean_bounded(self, name: str) -> dt.date | None:
        value = self.cleaned_data.get(name)
        earliest, latest = self.date_bounds()
        if value is not None and not earliest <= value <= latest:
            raise forms.ValidationError(
                _("Dates can run from %(earliest)s to %(latest)s; showing the usual range."),
                code="out_of_range",
                params={"earliest": f"{earliest:%Y-%m-%d}", "latest": f"{latest:%Y-%m-%d}"},
            )
        return value

    def clean_start(self):
        return self._clean_bounded("start")

    def clean_end(self):
        return self._clean_bounded("end")

    def clean(self):
        cleaned = super().clean()
        earliest, _latest = self.date_bounds()
        end = cleaned.get("end") or max(timezone.now().date(), cleaned.get("start") or earliest)
        start = cleaned.get("start") or max(earliest, end - ORDER_RANGE_DEFAULT)
        if start > end:
            self.add_error("end", _("The end date must be on or after the start date."))
            start = max(earliest, end - ORDER_RANGE_DEFAULT)
        cleaned["start"], cleaned["end"] = start, end
        return cleaned

    def context(self) -> dict:
        return {"start": self.cleaned_data["start"], "end": self.cleaned_data["end"]}

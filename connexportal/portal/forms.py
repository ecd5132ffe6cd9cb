"""Forms of the merchant pages: every value the browser sends is validated here first."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import NamedTuple

from django import forms
from django.core.validators import URLValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from connexportal.accounts.branding import service_name
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

# Quick choices beside each window, in whole days of the merchant's calendar: (label, first day,
# the day after the last), counted from today. A window may end in the future, as Connex's own do.
WINDOW_PRESETS = {
    "yesterday": (_("Yesterday"), -1, 0),
    "last_7_days": (_("Last 7 days"), -6, 1),
    "last_30_days": (_("Last 30 days"), -29, 1),
}
CUSTOM_WINDOW = "custom"
PRESET_SUFFIX = "Preset"


def preset_window(preset: str, zone: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """A preset's window in UTC: from midnight of its first day to midnight after its last, in ``zone``."""
    try:
        tz = zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = dt.UTC
    today = now.astimezone(tz).date()
    _label, first, after = WINDOW_PRESETS[preset]
    start = dt.datetime.combine(today + dt.timedelta(days=first), dt.time(), tzinfo=tz)
    end = dt.datetime.combine(today + dt.timedelta(days=after), dt.time(), tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


class WindowPreset(NamedTuple):
    value: str
    label: str
    start: str
    end: str
    checked: bool


class WindowRow(NamedTuple):
    label: str
    start: forms.BoundField
    end: forms.BoundField
    start_name: str
    preset_name: str
    presets: list[WindowPreset]


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

    def __init__(self, data=None, *args, current: dict[str, str], zone: str = "UTC", **kwargs):
        self.current = current
        self.zone = zone
        self.now = timezone.now()
        if data is not None:
            data = self._apply_presets(data)
        initial = {}
        for start_name, end_name in routes.WINDOW_SETTINGS:
            initial[start_name] = parse_connex_timestamp(current.get(start_name))
            initial[end_name] = parse_connex_timestamp(current.get(end_name))
        initial["SummaryTransactionGroupBy"] = current.get("SummaryTransactionGroupBy", "")
        super().__init__(data, *args, initial=initial, **kwargs)
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
            choices.insert(0, ("", _("Not set (%(service)s default)") % {"service": service_name()}))
        return choices

    def _apply_presets(self, data):
        """A chosen preset fills its window's two fields (without JavaScript too): the rest sees typed dates."""
        data = data.copy()
        for start_name, end_name in routes.WINDOW_SETTINGS:
            preset = data.get(start_name + PRESET_SUFFIX)
            if preset in WINDOW_PRESETS:
                start, end = preset_window(preset, self.zone, self.now)
                data[start_name], data[end_name] = start.strftime(UTC_INPUT_FORMAT), end.strftime(UTC_INPUT_FORMAT)
        return data

    def window_rows(self):
        """Per window: its legend, its two fields and its presets, each with the UTC values it fills in."""
        # The same for every window: worked out once.
        values = {
            key: tuple(moment.strftime(UTC_INPUT_FORMAT) for moment in preset_window(key, self.zone, self.now))
            for key in WINDOW_PRESETS
        }
        for start_name, end_name in routes.WINDOW_SETTINGS:
            preset_name = start_name + PRESET_SUFFIX
            chosen = self.data.get(preset_name) if self.is_bound else None
            chosen = chosen if chosen in WINDOW_PRESETS else CUSTOM_WINDOW
            presets = [WindowPreset(CUSTOM_WINDOW, _("Custom"), "", "", chosen == CUSTOM_WINDOW)]
            for key, (label, *_days) in WINDOW_PRESETS.items():
                presets.append(WindowPreset(key, label, *values[key], chosen == key))
            yield WindowRow(
                WINDOW_LABELS[start_name][0], self[start_name], self[end_name], start_name, preset_name, presets
            )

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


class RunWatchForm(forms.Form):
    """The query of a run's poll: the status the page shows now, and the order window the run downloads
    (Connex moves the window when the run finishes, so the page carries it until then)."""

    seen = forms.CharField(required=False, max_length=20)
    window_start = UTCDateTimeField(required=False)
    window_end = UTCDateTimeField(required=False)

    def window(self) -> tuple[dt.datetime, dt.datetime] | None:
        if not self.is_valid():
            return None
        start, end = self.cleaned_data["window_start"], self.cleaned_data["window_end"]
        if start is None or end is None or not EARLIEST <= start <= end <= timezone.now() + MAX_FUTURE:
            return None
        return start, end


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


class _SharedFields(dict):
    """A form class's fields, shared by its instances rather than deep-copied for each.

    Django copies ``base_fields`` into every form so that an instance may change its own fields;
    a query form never does (it validates a query string and the pages write their own markup),
    and the copy cost more than the validation (about 0.2 ms a list page)."""

    def __deepcopy__(self, memo) -> dict:
        return dict(self)


class _QueryFormMetaclass(forms.forms.DeclarativeFieldsMetaclass):
    def __new__(mcs, name, bases, attrs):
        new_class = super().__new__(mcs, name, bases, attrs)
        new_class.base_fields = _SharedFields(new_class.base_fields)
        return new_class


class ListQueryForm(forms.Form, metaclass=_QueryFormMetaclass):
    """Paging, search and sort: the query string of a list page.

    A bad value never fails the page: it is left out (the page uses its default) and its error,
    worded to say so, is shown as a note above the results (``notes()``). Its fields are shared
    by every instance (``_SharedFields``): nothing may change them per instance.
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


def _money_field(label, help_text: str = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        help_text=help_text,
        required=False,
        min_value=0,
        max_digits=16,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
    )


def _count_field(label, help_text: str = "") -> forms.IntegerField:
    return forms.IntegerField(label=label, help_text=help_text, required=False, min_value=0, max_value=1_000_000_000)


class ProductForm(forms.Form):
    """A new product: the fields of Connex's api/products/add a merchant fills in, in the spec's terms.

    What Connex or the accounting tool works out (quantities on order, asset value) is left to it;
    a product added here is always a manual one. ``values()`` gives the service's field names.
    """

    connection = forms.TypedChoiceField(
        label=_("Connection"),
        coerce=int,
        help_text=_("The sales channel the product belongs to, from your own connections."),
    )
    name = forms.CharField(
        label=_("Name"), max_length=500, help_text=_("What the product is called, as buyers see it.")
    )
    sku = forms.CharField(
        label=_("SKU"),
        max_length=200,
        help_text=_("Your stock-keeping unit. Each product needs its own; capitals do not make a SKU different."),
    )
    product_type = forms.TypedChoiceField(
        label=_("Type"),
        coerce=int,
        initial=0,
        choices=[(value, label) for value, label in labels.PRODUCT_TYPES.items()],
        help_text=_("Inventory products have stock counted in QuickBooks; the other types do not."),
    )
    description = forms.CharField(
        label=_("Description"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )
    sales_price = _money_field(_("Sales price"), _("What you sell one unit for."))
    unit_cost = _money_field(_("Unit cost"), _("What one unit costs you to buy."))
    average_cost = _money_field(_("Average cost"), _("Comes from your accounting tool: the average cost of one unit."))
    quantity_on_hand = forms.DecimalField(
        label=_("Quantity on hand"),
        required=False,
        min_value=0,
        max_digits=16,
        decimal_places=2,
        help_text=_("Units in stock now."),
        widget=forms.NumberInput(attrs={"step": "any", "min": "0", "inputmode": "decimal"}),
    )
    reorder_point = _count_field(_("Reorder point"), _("Order more when stock falls to this many units."))
    max_quantity = _count_field(_("Maximum quantity"), _("The most units you keep in stock."))
    time_until_restock = _count_field(_("Days until restock"), _("Days to get in the mail from the supplier."))
    days_to_receive = _count_field(_("Days to receive"), _("Days from arriving to being ready to sell."))
    asin = forms.CharField(
        label=_("ASIN"), required=False, max_length=50, help_text=_("Amazon's product number, if it sells there.")
    )
    image_urls = forms.CharField(
        label=_("Image addresses"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One web address (https://…) per line."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    internal_note = forms.CharField(
        label=_("Internal note"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For your team only; buyers never see it."),
    )

    field_groups = (
        (_("Product"), ("connection", "name", "sku", "product_type", "description")),
        (_("Prices"), ("sales_price", "unit_cost", "average_cost")),
        (_("Stock"), ("quantity_on_hand", "reorder_point", "max_quantity", "time_until_restock", "days_to_receive")),
        (_("More"), ("asin", "image_urls", "is_active", "internal_note")),
    )

    def __init__(self, *args, connections: dict[int, str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(connection_id, name) for connection_id, name in connections.items()]
        if len(choices) != 1:
            choices.insert(0, ("", _("Choose a connection")))
        self.fields["connection"].choices = choices

    def groups(self):
        """(legend, bound fields) per fieldset, for the template."""
        for legend, names in self.field_groups:
            yield legend, [self[name] for name in names]

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean_sku(self):
        return self.cleaned_data["sku"].strip()

    def clean_image_urls(self):
        urls = [line.strip() for line in self.cleaned_data["image_urls"].splitlines() if line.strip()]
        validate = URLValidator(schemes=["http", "https"])
        for url in urls:
            try:
                validate(url)
            except forms.ValidationError:
                raise forms.ValidationError(
                    _("%(url)s is not a web address; write each one like https://example.com/photo.jpg."),
                    code="invalid",
                    params={"url": url},
                ) from None
        return urls

    def values(self) -> dict:
        """The product's fields as the service takes them (unset numbers are 0, as in the spec's sample)."""
        data = self.cleaned_data
        values = {name: data[name] for name in self.fields if name != "connection"}
        for name, value in values.items():
            if value is None:
                values[name] = 0
        return values


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

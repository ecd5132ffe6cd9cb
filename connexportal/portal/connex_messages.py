"""What Connex says, as the merchant reads it.

Connex writes its run messages and its reasons for refusing a request in English. The ones the
portal knows (those the Connex spec and the sandbox use) are matched here and said again in the
merchant's language, naming the partner's service; any other is shown as it came, marked as
the service's own words and tagged ``lang="en"`` so that screen readers pronounce it right.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeData, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from connexportal.accounts.branding import service_name


def _not_paired(found: dict[str, str]) -> str:
    return _("Could not connect to %(channel)s: the connection is not paired.") % found


def _bad_login(found: dict[str, str]) -> str:
    return _("%(service)s did not accept the username or password.") % {"service": service_name()}


def _rate_limited(found: dict[str, str]) -> str:
    return _("%(service)s received too many requests at once. Please try again in a moment.") % {
        "service": service_name()
    }


def _downloaded(found: dict[str, str]) -> str:
    downloaded, skipped = int(found["downloaded"]), int(found["skipped"])
    orders = ngettext("Downloaded %(n)d order.", "Downloaded %(n)d orders.", downloaded) % {"n": downloaded}
    if not skipped:
        return orders
    duplicates = ngettext("Skipped %(n)d duplicate.", "Skipped %(n)d duplicates.", skipped) % {"n": skipped}
    return f"{orders} {duplicates}"


def _inventory(found: dict[str, str]) -> str:
    count = int(found["count"])
    return ngettext(
        "Synced the inventory of %(n)d product with %(channel)s.",
        "Synced the inventory of %(n)d products with %(channel)s.",
        count,
    ) % {"n": count, "channel": found["channel"]}


def _nothing_to_download(found: dict[str, str]) -> str:
    return _("Nothing to download: %(channel)s orders reach %(service)s through an import.") % {
        "channel": found["channel"],
        "service": service_name(),
    }


def _window_not_set(found: dict[str, str]) -> str:
    return _("The sync window is not set. Set it in the sync settings, then run the sync again.")


KNOWN: tuple[tuple[re.Pattern[str], Callable[[dict[str, str]], str]], ...] = (
    (
        re.compile(
            r"Could not connect to (?P<channel>.+?): the connection is not paired"
            r"(?: \(SolutionUserName and SolutionPassword are empty\))?\.?"
        ),
        _not_paired,
    ),
    (re.compile(r"The username or password is incorrect\.?"), _bad_login),
    (re.compile(r"Too many requests; Connex allows [\d.]+ per second\. Retry later\.?"), _rate_limited),
    (re.compile(r"Downloaded (?P<downloaded>\d+) orders, skipped (?P<skipped>\d+) duplicates?\.?"), _downloaded),
    (re.compile(r"Synced inventory of (?P<count>\d+) products with (?P<channel>.+?)\.?"), _inventory),
    (
        re.compile(r"Nothing to download: (?P<channel>.+?) orders arrive through api/orders/createorders\.?"),
        _nothing_to_download,
    ),
    (re.compile(r"\w+ is not set; set the window with Settings/Update first\.?"), _window_not_set),
)


def known_message(text: str) -> str | None:
    """The merchant's words for a message Connex sends, or None when the portal does not know it."""
    text = text.strip()
    for pattern, say in KNOWN:
        found = pattern.fullmatch(text)
        if found is not None:
            return say(found.groupdict())
    return None


def connex_message(text: str) -> str:
    """A Connex message for a page: in the merchant's words when known, else quoted as the service's own.

    The quoted form is HTML (a ``SafeString``); every part of it is escaped.
    """
    if not text:
        return ""
    known = known_message(text)
    if known is not None:
        return known
    return format_html(
        '<span class="connex-words">{} <q lang="en">{}</q></span>',
        _("Message from %(service)s:") % {"service": service_name()},
        text.strip(),
    )


def interpolate(template: str, params: dict) -> str:
    """``template % params`` where a value may be a quoted Connex message (HTML) from connex_message().

    With such a value the result is HTML too: the template and every other value are escaped first.
    """
    if not any(isinstance(value, SafeData) for value in params.values()):
        return template % params
    escaped = {name: conditional_escape(value) for name, value in params.items()}
    return mark_safe(conditional_escape(template) % escaped)  # noqa: S308 - every part is escaped above

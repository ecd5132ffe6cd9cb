"""What the merchant pages call Connex's codes, in the merchant's language.

``connexportal/connex/routes.py`` names the same codes in English for the client and the
sandbox, and imports nothing from Django; the pages show these translatable labels instead.
A test keeps the keys of both in step.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# Only the generic channel needs words; the others are brand names, the same in every language.
CHANNELS = {99: _("Custom integration")}

PRODUCT_TYPES = {
    0: pgettext_lazy("product type", "Inventory"),
    1: pgettext_lazy("product type", "Non-inventory"),
    2: pgettext_lazy("product type", "Service"),
    3: pgettext_lazy("product type", "Bundle"),
}

TASK_TYPES = {
    0: pgettext_lazy("scheduled task", "Orders"),
    1: pgettext_lazy("scheduled task", "Inventory"),
    2: pgettext_lazy("scheduled task", "Orders to ecommerce"),
}

SUMMARY_GROUP_BY = {
    0: _("Individual sales"),
    1: _("Summary by store name"),
    2: _("Summary by payment method"),
    3: _("Summary by payment method and store name"),
    4: _("Summary by order date month"),
}

# Keyed by Connex's value in lower case (it sends "Completed", "RunNow" ...).
RUN_STATUSES = {
    "idle": pgettext_lazy("sync status", "Idle"),
    "queued": pgettext_lazy("sync status", "Queued"),
    "running": pgettext_lazy("sync status", "Running"),
    "completed": pgettext_lazy("sync status", "Completed"),
    "failed": pgettext_lazy("sync status", "Failed"),
}

RUN_TRIGGERS = {
    "runnow": pgettext_lazy("sync trigger", "Run now"),
    "schedule": pgettext_lazy("sync trigger", "Scheduled"),
}

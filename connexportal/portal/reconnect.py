"""The connect page as every merchant page shows it when the merchant must (re)connect first."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.http import reswap, retarget

from connexportal.portal import connect, services
from connexportal.portal.connect_forms import ConnectForm

CONNECT_TEMPLATE = "portal/connect.html"


def connect_context(merchant, *, state: str, form: ConnectForm | None = None, **extra) -> dict:
    """``state``: connect (no account yet), reconnect (its login is refused) or update (it works)."""
    return {
        "nav": "connections",
        "merchant": merchant,
        "state": state,
        "service_name": connect.service_name(merchant),
        "editing_allowed": connect.credential_editing_allowed(merchant),
        "form": form or ConnectForm(),
        **extra,
    }


def reconnect_page(request: HttpRequest, merchant, needs: services.NeedsReconnect) -> HttpResponse:
    """The connect form in place of the page asked for; an htmx request for a part of a page gets the whole page."""
    state = "connect" if needs.no_account else "reconnect"
    response = render(request, CONNECT_TEMPLATE, connect_context(merchant, state=state))
    if request.htmx and not request.htmx.boosted:
        retarget(response, "body")
        reswap(response, "innerHTML")
    return response

"""Connect (or reconnect) the merchant's Connex account, and pair a connection's channel again."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_htmx.http import push_url, reswap, retarget

from connexportal.activity.services import Actor
from connexportal.portal import connect, services
from connexportal.portal.connect_forms import ConnectForm, PairForm
from connexportal.portal.credentials import CredentialsRefused
from connexportal.portal.reconnect import CONNECT_TEMPLATE, connect_context, reconnect_page
from connexportal.portal.views import _partial, merchant_required


@require_http_methods(["GET", "POST"])
@merchant_required
def connect_account(request: HttpRequest, merchant) -> HttpResponse:
    state = "update" if connect.has_account(merchant) else "connect"
    template = _partial(request, CONNECT_TEMPLATE, "connect-panel")
    if request.method == "GET":
        return render(request, template, connect_context(merchant, state=state))
    if not connect.credential_editing_allowed(merchant):
        return render(request, template, connect_context(merchant, state=state), status=403)
    form = ConnectForm(request.POST)
    if not form.is_valid():
        return render(request, template, connect_context(merchant, state=state, form=form), status=422)
    name = connect.service_name(merchant)
    try:
        check = connect.connex_account_connect(
            merchant=merchant,
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password"],
            actor=Actor.from_request(request),
        )
    except CredentialsRefused:
        form.add_error(
            None,
            _("%(service)s did not accept this username and password, so nothing was saved. Check them and try again.")
            % {"service": name},
        )
        return render(request, template, connect_context(merchant, state=state, form=form), status=422)
    except connect.NoEnvironment as exc:
        form.add_error(None, str(exc))
        return render(request, template, connect_context(merchant, state=state, form=form), status=503)
    if check.verified:
        messages.success(request, _("Connected to %(service)s. Your connections are below.") % {"service": name})
    else:
        messages.warning(
            request,
            _(
                "Saved, but %(service)s could not be reached to check this login just now. "
                "It is checked as soon as your connections load."
            )
            % {"service": name},
        )
    if not request.htmx:
        return redirect("portal:connections")
    # The connections page, in this response: an embedded page keeps no message for a next one.
    result = services.connections_list(merchant=merchant)
    if result.needs_reconnect:
        return reconnect_page(request, merchant, result.needs_reconnect)
    context = {"nav": "connections", "result": result, "merchant": merchant}
    status = 503 if result.stale and not result.connections else 200
    response = render(request, "portal/connections.html", context, status=status)
    retarget(response, "body")
    reswap(response, "innerHTML")
    return push_url(response, reverse("portal:connections"))


def _pair_context(request, merchant, connection, form, **extra) -> dict:
    return {
        "nav": "connections",
        "merchant": merchant,
        "connection": connection,
        "connection_id": connection.id,
        "form": form,
        "service_name": connect.service_name(merchant),
        **extra,
    }


@require_http_methods(["GET", "POST"])
@merchant_required
def connection_pair(request: HttpRequest, merchant, connection_id: int) -> HttpResponse:
    template = _partial(request, "portal/connection_pair.html", "pair-panel")
    try:
        connection = connect.connection_for_pairing(merchant=merchant, connection_id=connection_id)
    except connect.PairingNotOffered:
        raise Http404(_("This connection is not paired from here.")) from None
    except services.NeedsReconnect as exc:
        return reconnect_page(request, merchant, exc)
    except services.UpstreamError as exc:
        return render(request, "portal/upstream_error.html", {"nav": "connections", "error": exc}, status=503)
    fields = connect.pairing_fields(connection)
    if request.method == "GET":
        return render(request, template, _pair_context(request, merchant, connection, PairForm(fields=fields)))
    form = PairForm(request.POST, fields=fields)
    if not form.is_valid():
        return render(request, template, _pair_context(request, merchant, connection, form), status=422)
    try:
        connect.connection_pair(
            merchant=merchant,
            connection_id=connection_id,
            values=form.pairing_values(),
            actor=Actor.from_request(request),
        )
    except services.NeedsReconnect as exc:
        return reconnect_page(request, merchant, exc)
    except services.UpstreamError as exc:
        context = _pair_context(request, merchant, connection, PairForm(fields=fields), upstream_error=exc.message)
        return render(request, template, context, status=503 if exc.retryable else 422)
    try:
        connection, result = services.connection_get(merchant=merchant, connection_id=connection_id)
    except services.UpstreamError:
        result = None
    context = _pair_context(
        request,
        merchant,
        connection,
        PairForm(fields=fields),
        paired=True,
        result=result,
        cooldown=services.run_now_cooldown(merchant=merchant, connection_id=connection_id),
    )
    return render(request, template, context)

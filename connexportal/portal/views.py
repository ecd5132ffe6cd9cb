"""Merchant pages. Thin: parse the request, call a service, render a page or one of its partials."""

from __future__ import annotations

import functools
import math
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import push_url, trigger_client_event

from connexportal.accounts.branding import service_name
from connexportal.activity.selectors import merchant_activity
from connexportal.activity.services import Actor
from connexportal.portal import services
from connexportal.portal.forms import (
    ORDER_SORTS,
    PAGE_SIZES,
    PRODUCT_SORTS,
    OrderQueryForm,
    ProductForm,
    ProductQueryForm,
    RunWatchForm,
    SyncSettingsForm,
    WindowPreviewForm,
)
from connexportal.portal.reconnect import reconnect_page


def merchant_required(view):
    """The request acts for a merchant (login or embed session); the merchant is passed to the view."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        merchant = request.merchant
        if merchant is None:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            return render(request, "portal/no_merchant.html", status=403)
        try:
            return view(request, merchant, *args, **kwargs)
        except services.NotFound:
            raise Http404(_("No such connection.")) from None
        except services.NeedsReconnect as exc:
            return reconnect_page(request, merchant, exc)

    return wrapper


def _partial(request: HttpRequest, template: str, target: str) -> str:
    """The named partial when htmx asked for that element only, else the whole page."""
    if request.htmx and not request.htmx.boosted and request.htmx.target == target:
        return f"{template}#{target}"
    return template


# --- Connections -------------------------------------------------------------------------


@require_GET
@merchant_required
def connections(request: HttpRequest, merchant) -> HttpResponse:
    result = services.connections_list(merchant=merchant)
    if result.needs_reconnect:
        return reconnect_page(request, merchant, result.needs_reconnect)
    context = {"nav": "connections", "result": result, "merchant": merchant}
    status = 503 if result.stale and not result.connections else 200
    return render(request, _partial(request, "portal/connections.html", "connection-list"), context, status=status)


def _settings_context(request, merchant, connection, form, **extra):
    return {
        "nav": "connections",
        "merchant": merchant,
        "connection": connection,
        "form": form,
        "cooldown": services.run_now_cooldown(merchant=merchant, connection_id=connection.id),
        **extra,
    }


@require_http_methods(["GET", "POST"])
@merchant_required
def connection_settings(request: HttpRequest, merchant, connection_id: int) -> HttpResponse:
    template = "portal/connection_settings.html"
    if request.htmx and not request.htmx.boosted and request.htmx.target == "settings-fields":
        # The fields, and the feedback beside the Save button out of band.
        template += "#settings-update"
    if request.method == "GET":
        try:
            connection, result = services.connection_get(merchant=merchant, connection_id=connection_id)
        except services.NeedsReconnect as exc:
            return reconnect_page(request, merchant, exc)
        except services.UpstreamError as exc:
            return render(request, "portal/upstream_error.html", {"nav": "connections", "error": exc}, status=503)
        form = SyncSettingsForm(current=connection.settings, zone=merchant.timezone)
        return render(request, template, _settings_context(request, merchant, connection, form, result=result))

    try:
        connection = services.connection_cached(merchant=merchant, connection_id=connection_id)
    except services.NeedsReconnect as exc:
        return reconnect_page(request, merchant, exc)
    except services.UpstreamError as exc:
        return render(request, "portal/upstream_error.html", {"nav": "connections", "error": exc}, status=503)
    form = SyncSettingsForm(request.POST, current=connection.settings, zone=merchant.timezone)
    if not form.is_valid():
        return render(request, template, _settings_context(request, merchant, connection, form), status=422)
    changes = form.changed_settings()
    try:
        services.connection_settings_update(
            merchant=merchant, connection_id=connection_id, changes=changes, actor=Actor.from_request(request)
        )
    except services.NeedsReconnect as exc:
        return reconnect_page(request, merchant, exc)
    except services.UpstreamError as exc:
        for name, errors in exc.field_errors.items():
            if name in form.fields:
                for error in errors:
                    form.add_error(name, error)
        context = _settings_context(request, merchant, connection, form, upstream_error=exc.message)
        return render(request, template, context, status=503 if exc.retryable else 422)
    if request.htmx:
        connection = services.connection_cached(merchant=merchant, connection_id=connection_id)
        form = SyncSettingsForm(current=connection.settings, zone=merchant.timezone)
        context = _settings_context(request, merchant, connection, form, saved=bool(changes), unchanged=not changes)
        response = render(request, template, context)
        if changes:
            trigger_client_event(response, "connex:settings_saved", {"connection_id": connection_id})
        return response
    if changes:
        messages.success(request, _("Settings saved. Run a sync now to use them straight away."))
    else:
        messages.info(request, _("Nothing changed, so nothing was sent to %(service)s.") % {"service": service_name()})
    return redirect("portal:connection-settings", connection_id=connection_id)


@require_GET
@merchant_required
def window_preview(request: HttpRequest, merchant, connection_id: int) -> HttpResponse:
    form = WindowPreviewForm(request.GET)
    context = {"merchant": merchant, "form": form}
    if form.is_valid():
        try:
            context["preview"] = services.order_window_preview(
                merchant=merchant,
                connection_id=connection_id,
                start=form.cleaned_data["LastDownloadUtc"],
                end=form.cleaned_data["LastDownloadUtcEnd"],
            )
        except services.UpstreamError as exc:
            context["preview_error"] = exc.message
    return render(request, "portal/connection_settings.html#window-preview", context)


@require_POST
@merchant_required
def run_now(request: HttpRequest, merchant, connection_id: int) -> HttpResponse:
    if not request.brand.allow_run_now:
        return HttpResponseForbidden(_("Run now is switched off for this portal."))
    try:
        started = services.connection_run_now(
            merchant=merchant, connection_id=connection_id, actor=Actor.from_request(request)
        )
    except services.CooldownActive as exc:
        message, level, started = str(exc), messages.WARNING, None
    except services.UpstreamError as exc:
        message, level, started = exc.message, messages.ERROR, None
    else:
        message, level = _("Sync started. Progress shows below."), messages.SUCCESS
    if not request.htmx:
        messages.add_message(request, level, message)
        return redirect(reverse("portal:connection-settings", args=[connection_id]) + "#run-status")
    response = _run_status_response(request, merchant, connection_id, notice=message, notice_level=level)
    if started is not None:
        trigger_client_event(response, "connex:sync_started", {"connection_id": connection_id})
    return response


@require_GET
@merchant_required
def run_status(request: HttpRequest, merchant, connection_id: int) -> HttpResponse:
    return _run_status_response(request, merchant, connection_id)


def _run_status_response(request, merchant, connection_id, *, notice=None, notice_level=None):
    # htmx swaps the panel, and updates the announcer and the page's health out of band.
    template = "portal/connection_settings.html#" + ("run-update" if request.htmx else "run-status")
    try:
        connection, result = services.connection_get(merchant=merchant, connection_id=connection_id)
    except services.UpstreamError as exc:
        context = {"merchant": merchant, "run_error": exc.message, "connection_id": connection_id}
        return render(request, template, context)
    watch = RunWatchForm(request.GET)
    latest = connection.latest_run
    seen = watch.cleaned_data.get("seen", "") if watch.is_valid() else ""
    context = {
        "merchant": merchant,
        "connection": connection,
        "connection_id": connection_id,
        "result": result,
        "notice": notice,
        "notice_level": notice_level,
        "cooldown": services.run_now_cooldown(merchant=merchant, connection_id=connection_id),
        # A poll announces a change of state; the answer to a click takes focus instead.
        "announce": bool(request.GET.get("watch")) and latest is not None and seen != latest.status.lower(),
        "run_window": _run_window(watch.window(), latest),
    }
    response = render(request, template, context)
    if request.htmx and latest and not latest.is_active and request.GET.get("watch"):
        event = "connex:sync_finished" if latest.status.lower() == "completed" else "connex:sync_failed"
        trigger_client_event(response, event, {"connection_id": connection_id, "run_id": latest.id})
    return response


def _run_window(window, run) -> tuple | None:
    """The UTC days of the orders a finished run downloaded: its window, cut at the time it finished."""
    if window is None or run is None or run.is_active or run.finished_at is None:
        return None
    start, end = window
    return start, max(start, min(end, run.finished_at))


# --- Products and orders -----------------------------------------------------------------


def _list_page(
    request: HttpRequest, merchant, *, form, nav: str, sorts, template: str, fetch, extra: dict | None = None
) -> HttpResponse:
    """A paged, searchable, sortable list: the query string is validated by ``form`` (bad values
    fall back to defaults, with a note saying so), ``fetch(query, sort, direction)`` returns the
    services' ListResult (when stale, shown under the error with the time it was fetched);
    ``extra`` is more context for the page."""
    form.is_valid()
    query = form.cleaned_data
    sort, direction = query.get("sort") or form.default_sort, query.get("dir") or form.default_dir
    context = {
        "nav": nav,
        "merchant": merchant,
        "form": form,
        "sorts": sorts,
        "page_sizes": PAGE_SIZES,
        # The size asked for: the select shows it even when no page came back (Connex down).
        "size": query.get("size") or PAGE_SIZES[1],
        "sort": sort,
        "dir": direction,
        "query_notes": form.notes(),
        **form.context(),
        **(extra or {}),
    }
    status = 200
    try:
        context["connections"] = services.connection_names(merchant=merchant)
        result = fetch(query, sort, direction)
    except services.NeedsReconnect as exc:
        return reconnect_page(request, merchant, exc)
    except services.UpstreamError as exc:
        context["error"] = exc.message
        status = 503
    else:
        context["page"], context["unknown_count"] = result.page, result.unknown_count
        if result.stale:
            context["error"], context["fetched_at"] = result.error, result.fetched_at
    return render(request, _partial(request, template, "results"), context, status=status)


@require_GET
@merchant_required
def products(request: HttpRequest, merchant) -> HttpResponse:
    if request.brand.hide_products:
        raise Http404(_("Products are not shown in this portal."))
    return _products_page(request, merchant, request.GET)


def _products_page(request: HttpRequest, merchant, params, **extra) -> HttpResponse:
    def fetch(query, sort, direction):
        return services.products_list(
            merchant=merchant,
            page=query.get("page") or 1,
            size=query.get("size") or PAGE_SIZES[1],
            search=query.get("q") or "",
            sort=sort,
            direction=direction,
            connection_id=query.get("connection"),
            manual_only=bool(query.get("manual")),
            unknown_only=bool(query.get("unknown")),
            product_type=query.get("type"),
        )

    return _list_page(
        request,
        merchant,
        form=ProductQueryForm(params),
        nav="products",
        sorts=PRODUCT_SORTS,
        template="portal/products.html",
        fetch=fetch,
        extra=extra,
    )


@require_http_methods(["GET", "POST"])
@merchant_required
def product_new(request: HttpRequest, merchant) -> HttpResponse:
    if request.brand.hide_products:
        raise Http404(_("Products are not shown in this portal."))
    result = services.connections_list(merchant=merchant)
    if result.needs_reconnect:
        return reconnect_page(request, merchant, result.needs_reconnect)
    connections = {connection.id: connection.name for connection in result.connections}
    context = {"nav": "products", "merchant": merchant, "result": result, "upstream_error": result.error}
    # Without a list of connections there is nothing to choose from: say why, keep what was typed.
    status = 503 if result.stale and not connections else 200
    if request.method == "GET":
        initial = {}
        if request.GET.get("connection", "").isdigit() and int(request.GET["connection"]) in connections:
            initial["connection"] = int(request.GET["connection"])
        context["form"] = ProductForm(connections=connections, initial=initial)
        return render(request, "portal/product_new.html", context, status=status)

    form = context["form"] = ProductForm(request.POST, connections=connections)
    if status == 503:
        return render(request, "portal/product_new.html", context, status=status)
    if not form.is_valid():
        return render(request, "portal/product_new.html", context, status=422)
    try:
        product = services.product_create(
            merchant=merchant,
            connection_id=form.cleaned_data["connection"],
            values=form.values(),
            actor=Actor.from_request(request),
        )
    except services.DuplicateSku as exc:
        form.add_error(
            "sku",
            _("You already have a product with this SKU: %(name)s (%(sku)s).")
            % {"name": exc.existing.name or _("(no name)"), "sku": exc.existing.sku},
        )
        context["duplicate"] = exc.existing
        return render(request, "portal/product_new.html", context, status=422)
    except services.UpstreamError as exc:
        for name, errors in exc.field_errors.items():
            if name in form.fields:
                for error in errors:
                    form.add_error(name, error)
        context["upstream_error"] = exc.message
        return render(request, "portal/product_new.html", context, status=503 if exc.retryable else 422)
    notice = _("Product added: %(name)s (%(sku)s).") % {"name": product.name, "sku": product.sku}
    listed = f"{reverse('portal:products')}?{urlencode({'q': product.sku})}"
    if request.htmx:
        # In the frame no cookie carries a message over a redirect: show the list straight away.
        response = _products_page(request, merchant, QueryDict(urlencode({"q": product.sku})), notice=notice)
        return push_url(response, listed)
    messages.success(request, notice)
    return redirect(listed)


@require_GET
@merchant_required
def orders(request: HttpRequest, merchant) -> HttpResponse:
    if request.brand.hide_orders:
        raise Http404(_("Orders are not shown in this portal."))

    def fetch(query, sort, direction):
        return services.orders_list(
            merchant=merchant,
            start=query["start"],
            end=query["end"],
            page=query.get("page") or 1,
            size=query.get("size") or PAGE_SIZES[1],
            search=query.get("q") or "",
            sort=sort,
            direction=direction,
            connection_id=query.get("connection"),
        )

    return _list_page(
        request,
        merchant,
        form=OrderQueryForm(request.GET),
        nav="orders",
        sorts=ORDER_SORTS,
        template="portal/orders.html",
        fetch=fetch,
    )


# --- Activity ----------------------------------------------------------------------------

ACTIVITY_PAGE_SIZE = 25


@require_GET
@merchant_required
def activity(request: HttpRequest, merchant) -> HttpResponse:
    entries = merchant_activity(merchant=merchant)
    total = entries.count()
    pages = max(1, math.ceil(total / ACTIVITY_PAGE_SIZE))
    try:
        number = min(max(int(request.GET.get("page", "1")), 1), pages)
    except ValueError:
        number = 1
    start = (number - 1) * ACTIVITY_PAGE_SIZE
    page = services.Page(
        rows=list(entries[start : start + ACTIVITY_PAGE_SIZE]),
        page=number,
        size=ACTIVITY_PAGE_SIZE,
        total=total,
        pages=pages,
    )
    context = {"nav": "activity", "merchant": merchant, "page": page}
    return render(request, _partial(request, "portal/activity.html", "results"), context)

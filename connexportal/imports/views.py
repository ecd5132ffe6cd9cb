"""The order import pages: upload and check a file, start it, follow it, cancel it, download its result."""

from __future__ import annotations

import functools
import uuid

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from connexportal.activity.services import Actor
from connexportal.imports import orders, services, tasks
from connexportal.imports.forms import OrderImportForm
from connexportal.imports.models import ImportSource, ImportStatus, OrderImport
from connexportal.portal.services import connection_names
from connexportal.portal.views import merchant_required

# Problems listed on the page; the result CSV has every row.
SHOWN_PROBLEMS = 200


def orders_shown(view):
    """The import pages exist where the orders page does."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, merchant, *args, **kwargs):
        if request.brand.hide_orders:
            raise Http404(_("Orders are not shown in this portal."))
        return view(request, merchant, *args, **kwargs)

    return wrapper


def _get(merchant, import_id: uuid.UUID) -> OrderImport:
    try:
        return services.order_import_get(merchant=merchant, import_id=import_id)
    except services.NotFound:
        raise Http404(_("No such import.")) from None


def _new_page(request, merchant, form, *, status=200, problems=None, upstream_error=None) -> HttpResponse:
    context = {
        "nav": "orders",
        "merchant": merchant,
        "form": form,
        "problems": problems,
        "upstream_error": upstream_error,
        "recent": services.order_imports_recent(merchant=merchant),
        "columns": orders.CSV_COLUMNS,
        "required_columns": orders.REQUIRED_COLUMNS,
        "max_orders": orders.MAX_ORDERS,
    }
    return render(request, "portal/order_import.html", context, status=status)


@require_http_methods(["GET", "POST"])
@merchant_required
@orders_shown
def order_import_new(request: HttpRequest, merchant) -> HttpResponse:
    connections = connection_names(merchant=merchant)
    if request.method == "GET":
        initial = {"connection": request.GET.get("connection")}
        return _new_page(request, merchant, OrderImportForm(initial=initial, connections=connections))
    form = OrderImportForm(request.POST, request.FILES, connections=connections)
    if not form.is_valid():
        return _new_page(request, merchant, form, status=422)
    upload = form.cleaned_data["file"]
    connection_id = form.cleaned_data["connection"]
    is_json = upload.name.lower().endswith(".json") or upload.content_type == "application/json"
    try:
        content = upload.read()
        items = orders.read_json(content) if is_json else orders.read_csv(content)
    except orders.FileError as exc:
        form.add_error("file", str(exc))
        return _new_page(request, merchant, form, status=422)
    if not items:
        form.add_error("file", _("The file holds no orders."))
        return _new_page(request, merchant, form, status=422)
    checked = orders.check_orders(items, connection_id=connection_id, flat=not is_json)
    valid_only = form.cleaned_data["valid_only"]
    try:
        order_import = services.order_import_create(
            merchant=merchant,
            connection_id=connection_id,
            checked=checked,
            source=ImportSource.JSON if is_json else ImportSource.CSV,
            actor=Actor.from_request(request),
            file_name=upload.name,
            start=valid_only or not checked.invalid,
        )
    except services.NotFound:
        form.add_error("connection", _("Choose one of your connections."))
        return _new_page(request, merchant, form, status=422)
    except services.UpstreamError as exc:
        return _new_page(request, merchant, form, status=503, upstream_error=exc.message)
    except services.NothingToImport as exc:
        form.add_error("file", str(exc))
        return _new_page(request, merchant, form, status=422, problems=checked.invalid[:SHOWN_PROBLEMS])
    return redirect("imports:detail", import_id=order_import.pk)


@require_GET
@merchant_required
@orders_shown
def order_import_detail(request: HttpRequest, merchant, import_id: uuid.UUID) -> HttpResponse:
    order_import = _get(merchant, import_id)
    if order_import.is_active:
        tasks.order_imports_resume_stale(merchant_id=merchant.pk)
    context = {
        "nav": "orders",
        "merchant": merchant,
        "order_import": order_import,
        "connection_name": connection_names(merchant=merchant).get(order_import.connection_id, ""),
        "shown_problems": SHOWN_PROBLEMS,
    }
    if order_import.status == ImportStatus.DRAFT or order_import.has_ended:
        context["problems"] = list(services.failures(order_import)[:SHOWN_PROBLEMS])
    template = "portal/order_import_detail.html"
    if request.htmx and not request.htmx.boosted and request.htmx.target == "progress":
        template += "#progress"
    return render(request, template, context)


@require_POST
@merchant_required
@orders_shown
def order_import_start(request: HttpRequest, merchant, import_id: uuid.UUID) -> HttpResponse:
    try:
        services.order_import_start(merchant=merchant, import_id=import_id, actor=Actor.from_request(request))
    except services.NotFound:
        raise Http404(_("No such import.")) from None
    return redirect("imports:detail", import_id=import_id)


@require_POST
@merchant_required
@orders_shown
def order_import_cancel(request: HttpRequest, merchant, import_id: uuid.UUID) -> HttpResponse:
    try:
        services.order_import_cancel(merchant=merchant, import_id=import_id, actor=Actor.from_request(request))
    except services.NotFound:
        raise Http404(_("No such import.")) from None
    return redirect("imports:detail", import_id=import_id)


@require_GET
@merchant_required
@orders_shown
def order_import_result(request: HttpRequest, merchant, import_id: uuid.UUID) -> StreamingHttpResponse:
    order_import = _get(merchant, import_id)
    response = StreamingHttpResponse(services.result_csv(order_import), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="order-import-{order_import.pk}.csv"'
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@merchant_required
@orders_shown
def order_import_template(request: HttpRequest, merchant) -> HttpResponse:
    response = HttpResponse(orders.template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="order-import-template.csv"'
    return response

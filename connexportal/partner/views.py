"""The partner console (/partner/): a partner's own users manage its merchants, keys, webhooks and brand.

Every view takes the partner from the logged-in user (``partner_console``) and looks everything
up within it, so another partner's merchant, key or endpoint is a 404 like one that does not
exist. Staff and merchants' users have no partner: for them the console does not exist either.
"""

from __future__ import annotations

import functools
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.csp import CSP
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from connexportal.accounts.branding import Brand, brand_for, service_name_override
from connexportal.accounts.models import Partner
from connexportal.activity.services import Actor
from connexportal.partner import selectors, services
from connexportal.partner.forms import ApiKeyForm, BrandingForm, MerchantForm, PreviewForm, WebhookEndpointForm
from connexportal.partner.preview import SAMPLE_CONNECTIONS
from connexportal.partner_api.services import CredentialsIncomplete, MerchantExists, MerchantInactive
from connexportal.portal.credentials import CredentialsRefused
from connexportal.portal.services import connections_list
from connexportal.webhooks import endpoints
from connexportal.webhooks.delivery import delivery_retry_now


def partner_console(view=None, *, admin: bool = False):
    """The request's user is a partner's (an administrator of it with ``admin``); the partner is passed on."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            partner: Partner | None = user.partner if user.partner_id else None
            if partner is None:
                raise Http404("Not a partner's user.")
            if admin and not user.is_partner_admin:
                raise PermissionDenied(_("Only your partner's administrators can do this."))
            return view(request, partner, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate


def _partial(request: HttpRequest, template: str, target: str) -> str:
    """The named partial when htmx asked for that element only, else the whole page."""
    if request.htmx and not request.htmx.boosted and request.htmx.target == target:
        return f"{template}#{target}"
    return template


# --- Merchants ----------------------------------------------------------------------------


@require_GET
@partner_console
def dashboard(request: HttpRequest, partner: Partner) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    page = selectors.merchant_page(partner=partner, query=query, page=request.GET.get("page"))
    rows = [(merchant, selectors.health_cached(merchant=merchant) if merchant.is_active else None) for merchant in page]
    context = {"nav": "merchants", "partner": partner, "page": page, "rows": rows, "query": query}
    return render(request, _partial(request, "partner/dashboard.html", "results"), context)


@require_GET
@partner_console
def merchant_health(request: HttpRequest, partner: Partner, merchant_id: int) -> HttpResponse:
    """One dashboard cell: the merchant's health, checked with Connex unless cached."""
    merchant = selectors.merchant_for_partner(partner=partner, merchant_id=merchant_id)
    health = selectors.health_get(merchant=merchant) if merchant.is_active else None
    return render(request, "partner/dashboard.html#merchant-row", {"merchant": merchant, "health": health})


@require_GET
@partner_console
def merchant_detail(request: HttpRequest, partner: Partner, merchant_id: int) -> HttpResponse:
    merchant = selectors.merchant_for_partner(partner=partner, merchant_id=merchant_id)
    result = health = None
    if merchant.is_active:
        result = connections_list(merchant=merchant)
        health = selectors.health_remember(merchant=merchant, result=result)
    context = {
        "nav": "merchants",
        "partner": partner,
        "merchant": merchant,
        "result": result,
        "health": health,
        "runs": selectors.recent_runs(result=result) if result is not None else [],
        "activity": selectors.merchant_activity_page(merchant=merchant, page=request.GET.get("page")),
    }
    return render(request, _partial(request, "partner/merchant_detail.html", "activity"), context)


@require_http_methods(["GET", "POST"])
@partner_console(admin=True)
def merchant_new(request: HttpRequest, partner: Partner) -> HttpResponse:
    form = MerchantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            merchant = services.merchant_create(
                partner=partner,
                values=form.merchant_values,
                credentials=form.credentials(),
                actor=Actor.from_request(request),
            )
        except MerchantExists:
            form.add_error("external_id", _("You already have a merchant with this id."))
        except CredentialsRefused as exc:
            form.add_error("connex_password", str(exc))
        else:
            messages.success(request, _("Merchant %(name)s created.") % {"name": merchant.name})
            return redirect("partner:merchant", merchant.pk)
    context = {"nav": "merchants", "partner": partner, "form": form}
    return render(request, "partner/merchant_form.html", context, status=422 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@partner_console(admin=True)
def merchant_edit(request: HttpRequest, partner: Partner, merchant_id: int) -> HttpResponse:
    merchant = selectors.merchant_for_partner(partner=partner, merchant_id=merchant_id)
    if not merchant.external_id:
        raise Http404("A merchant without an external id is read-only here.")
    form = MerchantForm(request.POST or None, instance=merchant)
    if request.method == "POST" and form.is_valid():
        try:
            services.merchant_update(
                partner=partner,
                merchant=merchant,
                changes=form.merchant_changes(),
                credential_changes=form.credential_changes(),
                actor=Actor.from_request(request),
            )
        except CredentialsRefused as exc:
            form.add_error("connex_password", str(exc))
        except CredentialsIncomplete:
            form.add_error("connex_password", _("Needed with the rest of the Connex login."))
        else:
            messages.success(request, _("Changes to %(name)s saved.") % {"name": form.cleaned_data["name"]})
            return redirect("partner:merchant", merchant.pk)
    context = {"nav": "merchants", "partner": partner, "form": form, "merchant": merchant}
    return render(request, "partner/merchant_form.html", context, status=422 if form.errors else 200)


@require_POST
@partner_console(admin=True)
def merchant_deactivate(request: HttpRequest, partner: Partner, merchant_id: int) -> HttpResponse:
    merchant = selectors.merchant_for_partner(partner=partner, merchant_id=merchant_id)
    if not merchant.external_id:
        raise Http404("A merchant without an external id is read-only here.")
    services.merchant_deactivate(partner=partner, merchant=merchant, actor=Actor.from_request(request))
    messages.success(
        request,
        _("%(name)s is deactivated: its users are logged out and its embedded sessions ended.")
        % {"name": merchant.name},
    )
    return redirect("partner:merchant", merchant.pk)


@require_POST
@partner_console(admin=True)
def merchant_reactivate(request: HttpRequest, partner: Partner, merchant_id: int) -> HttpResponse:
    merchant = selectors.merchant_for_partner(partner=partner, merchant_id=merchant_id)
    if not merchant.external_id:
        raise Http404("A merchant without an external id is read-only here.")
    services.merchant_reactivate(partner=partner, merchant=merchant, actor=Actor.from_request(request))
    messages.success(request, _("%(name)s is active again.") % {"name": merchant.name})
    return redirect("partner:merchant", merchant.pk)


@require_POST
@partner_console
def merchant_open(request: HttpRequest, partner: Partner, merchant_id: int) -> HttpResponse:
    """Open the portal as the merchant, in the tab the form targets: a fresh, single-use launch."""
    merchant = selectors.merchant_for_partner(partner=partner, merchant_id=merchant_id)
    try:
        path = services.merchant_open_as(partner=partner, merchant=merchant, actor=Actor.from_request(request))
    except MerchantInactive:
        messages.error(request, _("%(name)s is deactivated, so it cannot be opened.") % {"name": merchant.name})
        return redirect("partner:merchant", merchant.pk)
    response = HttpResponseRedirect(path)
    response.status_code = 303
    add_never_cache_headers(response)
    return response


# --- API keys -----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@partner_console(admin=True)
def api_keys(request: HttpRequest, partner: Partner) -> HttpResponse:
    """The keys, and a form to issue one. A new key is shown on this answer only: never in a
    message (the cookie or session would keep it), and never cached (Cache-Control: no-store)."""
    form = ApiKeyForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        key, plaintext = services.api_key_issue(
            partner=partner, name=form.cleaned_data["name"], actor=Actor.from_request(request)
        )
        issued = {"key": key, "plaintext": plaintext}
        form = ApiKeyForm()
    context = {
        "nav": "api_keys",
        "partner": partner,
        "form": form,
        "issued": issued,
        "keys": selectors.api_keys_for_partner(partner=partner),
    }
    response = render(request, "partner/api_keys.html", context, status=422 if form.errors else 200)
    add_never_cache_headers(response)
    return response


@require_POST
@partner_console(admin=True)
def api_key_revoke(request: HttpRequest, partner: Partner, key_id: int) -> HttpResponse:
    key = selectors.api_key_for_partner(partner=partner, key_id=key_id)
    services.api_key_revoke(partner=partner, key=key, actor=Actor.from_request(request))
    messages.success(
        request, _("The key %(name)s is revoked: calls with it are refused from now on.") % {"name": key.name}
    )
    return redirect("partner:api-keys")


# --- Branding -----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@partner_console(admin=True)
def branding(request: HttpRequest, partner: Partner) -> HttpResponse:
    form = BrandingForm(request.POST or None, request.FILES or None, instance=partner)
    if request.method == "POST" and form.is_valid():
        services.branding_save(form=form, actor=Actor.from_request(request))
        messages.success(request, _("Branding saved. Merchants see it on their next page."))
        return redirect("partner:branding")
    context = {
        "nav": "branding",
        "partner": Partner.objects.get(pk=partner.pk) if form.errors else partner,
        "form": form,
        "preview_url": reverse("partner:branding-preview"),
    }
    return render(request, "partner/branding.html", context, status=422 if form.errors else 200)


# The preview is framed by the branding page, on this site only.
PREVIEW_CSP = {**settings.SECURE_CSP, "frame-ancestors": [CSP.SELF]}


@require_GET
@csp_override(PREVIEW_CSP)
@xframe_options_sameorigin
@partner_console
def branding_preview(request: HttpRequest, partner: Partner) -> HttpResponse:
    """The connections page as merchants will see it with the unsaved values in the query, on sample data."""
    values = PreviewForm(request.GET).values(partner)
    theme_query = {"primary_color": values["primary_color"], "accent_color": values["accent_color"]}
    saved = brand_for(partner)
    # What the "brand" context processor reads (accounts.context_processors), as for a merchant's page.
    request.brand = Brand(
        name=partner.name,
        logo_url=saved.logo_url,
        theme_url=f"{reverse('partner:branding-preview-theme')}?{urlencode(theme_query)}",
        theme=values["theme"],
        hide_products=values["hide_products"],
        hide_orders=values["hide_orders"],
        allow_run_now=values["allow_run_now"],
        service_name=values["service_name"],
        embed_chrome=values["embed_chrome"],
    )
    with service_name_override(values["service_name"]):
        return render(request, "partner/branding_preview.html", {"sample": SAMPLE_CONNECTIONS})


@require_GET
@partner_console
def branding_preview_theme(request: HttpRequest, partner: Partner) -> HttpResponse:
    """The preview's colours as CSS custom properties, like /branding/<id>/theme.css; only #rrggbb is written."""
    values = PreviewForm(request.GET).values(partner)
    css = (
        f":root {{\n  --cx-color-primary: {values['primary_color']};\n"
        f"  --cx-color-accent: {values['accent_color']};\n}}\n"
    )
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response


# --- Webhooks -----------------------------------------------------------------------------


def _endpoint(partner: Partner, endpoint_id: str):
    try:
        return endpoints.endpoint_get(partner=partner, endpoint_id=endpoint_id)
    except endpoints.EndpointNotFound:
        raise Http404("No such webhook endpoint.") from None


def _webhooks_page(request: HttpRequest, partner: Partner, form: WebhookEndpointForm, *, secret=None, status=200):
    """The endpoints page; a new or rotated secret is shown on this answer only, never cached."""
    context = {
        "nav": "webhooks",
        "partner": partner,
        "form": form,
        "endpoints": endpoints.endpoint_list(partner=partner),
        "secret": secret,
    }
    response = render(request, "partner/webhooks.html", context, status=status)
    add_never_cache_headers(response)
    return response


@require_http_methods(["GET", "POST"])
@partner_console(admin=True)
def webhooks(request: HttpRequest, partner: Partner) -> HttpResponse:
    form = WebhookEndpointForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        return _webhooks_page(request, partner, form, status=422 if form.errors else 200)
    try:
        endpoint, secret = endpoints.endpoint_create(
            partner=partner,
            url=form.cleaned_data["url"],
            description=form.cleaned_data["description"],
            event_types=form.cleaned_data["event_types"],
            actor=Actor.from_request(request),
        )
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _webhooks_page(request, partner, form, status=422)
    except endpoints.EndpointLimit as exc:
        form.add_error(
            None, _("You have the most endpoints allowed (%(limit)s): remove one first.") % {"limit": exc.args[0]}
        )
        return _webhooks_page(request, partner, form, status=422)
    return _webhooks_page(request, partner, WebhookEndpointForm(), secret={"endpoint": endpoint, "value": secret})


@require_POST
@partner_console(admin=True)
def webhook_rotate(request: HttpRequest, partner: Partner, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(partner, endpoint_id)
    endpoint, secret = endpoints.endpoint_rotate_secret(
        partner=partner, endpoint_id=str(endpoint.pk), actor=Actor.from_request(request)
    )
    return _webhooks_page(
        request, partner, WebhookEndpointForm(), secret={"endpoint": endpoint, "value": secret, "rotated": True}
    )


@require_POST
@partner_console(admin=True)
def webhook_delete(request: HttpRequest, partner: Partner, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(partner, endpoint_id)
    endpoints.endpoint_delete(partner=partner, endpoint_id=str(endpoint.pk), actor=Actor.from_request(request))
    messages.success(request, _("The endpoint %(url)s is removed: nothing more is sent to it.") % {"url": endpoint.url})
    return redirect("partner:webhooks")


@require_POST
@partner_console(admin=True)
def webhook_test(request: HttpRequest, partner: Partner, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(partner, endpoint_id)
    try:
        endpoints.endpoint_ping(partner=partner, endpoint_id=str(endpoint.pk))
    except endpoints.EndpointDisabled:
        messages.error(
            request, _("The endpoint %(url)s is disabled, so nothing is sent to it.") % {"url": endpoint.url}
        )
        return redirect("partner:webhooks")
    messages.success(
        request, _("A test event is on its way to %(url)s; its delivery shows below.") % {"url": endpoint.url}
    )
    return redirect(f"{reverse('partner:webhook-deliveries')}?{urlencode({'endpoint': endpoint.pk})}")


@require_GET
@partner_console(admin=True)
def webhook_deliveries(request: HttpRequest, partner: Partner) -> HttpResponse:
    endpoint_id = request.GET.get("endpoint", "")
    endpoint = _endpoint(partner, endpoint_id) if endpoint_id else None
    page = selectors.webhook_deliveries_page(partner=partner, page=request.GET.get("page"), endpoint_id=endpoint_id)
    context = {"nav": "webhooks", "partner": partner, "page": page, "endpoint": endpoint}
    return render(request, _partial(request, "partner/webhook_deliveries.html", "results"), context)


@require_POST
@partner_console(admin=True)
def webhook_redeliver(request: HttpRequest, partner: Partner, delivery_id: int) -> HttpResponse:
    delivery = selectors.webhook_delivery_for_partner(partner=partner, delivery_id=delivery_id)
    if delivery_retry_now(event=delivery.event, endpoint=delivery.endpoint, redeliver=True):
        messages.success(request, _("The event is being sent again; the new attempt shows below."))
    else:
        messages.error(request, _("Not sent again: an attempt is on its way now, or the endpoint was removed."))
    return redirect(
        request.POST.get("next") if _is_console_path(request.POST.get("next", "")) else "partner:webhook-deliveries"
    )


def _is_console_path(path: str) -> bool:
    return path.startswith(reverse("partner:webhook-deliveries")) and "//" not in path

"""The partner console's pages against the in-process sandbox: tenancy, health, merchants, keys, branding."""

from __future__ import annotations

import re

from django.core.cache import cache
from django.urls import reverse

from connexportal.accounts.models import Merchant, Partner, PartnerApiKey
from connexportal.activity.models import ActivityEntry
from connexportal.embed.models import EmbedLaunch, EmbedSession
from connexportal.partner import selectors
from connexportal.sandbox import faults
from tests.partner.conftest import PARTNER_EMAIL, demo_partner, partner_client, rival, support_client  # noqa: F401
from tests.portal.conftest import DEMO_ACCOUNT, merchant_client, sandbox  # noqa: F401

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def merchant(name: str = "Demo Outdoor Supply") -> Merchant:
    return Merchant.objects.get(name=name)


def connex_calls(sandbox) -> list[str]:  # noqa: F811
    return [path for _method, path in sandbox.calls if "login" not in path and "token" not in path]


# --- Tenancy --------------------------------------------------------------------------------


def test_every_console_url_with_another_partners_id_is_a_404(partner_client, rival):  # noqa: F811
    other, key = rival["merchant"], rival["key"]
    gets = ["merchant", "merchant-health", "merchant-edit"]
    for name in gets:
        assert partner_client.get(reverse(f"partner:{name}", args=[other.pk])).status_code == 404, name
    for name in ["merchant-edit", "merchant-deactivate", "merchant-reactivate", "merchant-open"]:
        assert partner_client.post(reverse(f"partner:{name}", args=[other.pk])).status_code == 404, name
    assert partner_client.post(reverse("partner:api-key-revoke", args=[key.pk])).status_code == 404
    other.refresh_from_db()
    key.refresh_from_db()
    assert other.is_active and key.revoked_at is None
    assert not EmbedLaunch.objects.filter(merchant=other).exists()
    page = partner_client.get(reverse("partner:dashboard")).content.decode()
    assert "Rival Shop" not in page
    assert "rival" not in partner_client.get(reverse("partner:api-keys")).content.decode()


def test_support_users_read_and_open_but_only_administrators_change(support_client, demo_partner):  # noqa: F811
    target = merchant()
    assert support_client.get(reverse("partner:dashboard")).status_code == 200
    assert support_client.get(reverse("partner:merchant", args=[target.pk])).status_code == 200
    assert support_client.post(reverse("partner:merchant-open", args=[target.pk])).status_code == 303
    for url in [
        reverse("partner:merchant-new"),
        reverse("partner:merchant-edit", args=[target.pk]),
        reverse("partner:api-keys"),
        reverse("partner:branding"),
    ]:
        assert support_client.get(url).status_code == 403, url
    assert support_client.post(reverse("partner:merchant-deactivate", args=[target.pk])).status_code == 403
    target.refresh_from_db()
    assert target.is_active


# --- Dashboard --------------------------------------------------------------------------------


def test_dashboard_rolls_up_health_lazily_and_caches_it(partner_client, sandbox):  # noqa: F811
    first = partner_client.get(reverse("partner:dashboard"))
    html = first.content.decode()
    assert "Demo Outdoor Supply" in html and "Other Demo Books" in html
    # Nothing is asked of Connex for the page itself: each row asks for its own health.
    assert connex_calls(sandbox) == []
    assert html.count('hx-trigger="load"') == 2

    demo = merchant()
    row = partner_client.get(reverse("partner:merchant-health", args=[demo.pk])).content.decode()
    assert f'id="merchant-{demo.pk}"' in row and 'hx-trigger="load"' not in row
    rollup = selectors.health_cached(merchant=demo)
    assert rollup is not None
    assert sum(rollup.counts.values()) >= 1
    assert f"badge-{rollup.state.badge}" in row and rollup.state.label in row

    sandbox.reset()
    again = partner_client.get(reverse("partner:dashboard")).content.decode()
    assert connex_calls(sandbox) == []
    assert again.count('hx-trigger="load"') == 1


def test_health_is_unknown_when_connex_is_down_and_checked_again_soon(partner_client, sandbox):  # noqa: F811
    demo = merchant()
    with faults.injected("503=1", account=DEMO_ACCOUNT):
        row = partner_client.get(reverse("partner:merchant-health", args=[demo.pk])).content.decode()
    assert "Unknown" in row
    assert selectors.health_cached(merchant=demo).state is selectors.Health.UNKNOWN
    cache.delete(selectors._health_key(demo))
    row = partner_client.get(reverse("partner:merchant-health", args=[demo.pk])).content.decode()
    assert "Unknown" not in row


def test_health_roll_up_counts_each_kind_of_connection(sandbox):  # noqa: F811
    from connexportal.portal.services import connections_list

    result = connections_list(merchant=merchant())
    rollup = selectors.health_from_result(result)
    assert sum(rollup.counts.values()) == len(result.connections)
    expected = min(
        (selectors.connection_health(connection) for connection in result.connections),
        key=selectors.WORST_FIRST.index,
    )
    assert rollup.state is expected
    assert rollup.last_sync_at == max(c.last_sync_at for c in result.connections if c.last_sync_at)


def test_a_merchant_without_a_connex_login_needs_reconnect(partner_client, demo_partner):  # noqa: F811
    bare = Merchant.objects.create(partner=demo_partner, name="Bare Shop", external_id="bare")
    row = partner_client.get(reverse("partner:merchant-health", args=[bare.pk])).content.decode()
    assert "Needs reconnect" in row


def test_dashboard_search_and_paging(partner_client, demo_partner):  # noqa: F811
    for number in range(30):
        Merchant.objects.create(partner=demo_partner, name=f"Zed Shop {number:02}", external_id=f"zed-{number}")
    page_one = partner_client.get(reverse("partner:dashboard")).content.decode()
    assert "Page 1 of 2" in page_one
    page_two = partner_client.get(reverse("partner:dashboard"), {"page": 2}).content.decode()
    assert "Zed Shop 29" in page_two and "Demo Outdoor Supply" not in page_two

    found = partner_client.get(reverse("partner:dashboard"), {"q": "zed-1"}).content.decode()
    names = set(re.findall(r"Zed Shop \d\d", found))
    assert names == {
        "Zed Shop 01",
        "Zed Shop 10",
        "Zed Shop 11",
        "Zed Shop 12",
        "Zed Shop 13",
        "Zed Shop 14",
        "Zed Shop 15",
        "Zed Shop 16",
        "Zed Shop 17",
        "Zed Shop 18",
        "Zed Shop 19",
    }
    none = partner_client.get(reverse("partner:dashboard"), {"q": "nothing-like-this"}).content.decode()
    assert "No merchant matches" in none

    partial = partner_client.get(
        reverse("partner:dashboard"), {"q": "zed"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results"
    )
    assert partial.content.decode().lstrip().startswith('<section id="results"')


# --- Merchant page -----------------------------------------------------------------------------


def test_merchant_page_shows_connections_runs_and_activity(partner_client, sandbox):  # noqa: F811
    from connexportal.portal.services import connections_list

    demo = merchant()
    names = [connection.name for connection in connections_list(merchant=demo).connections]
    html = partner_client.get(reverse("partner:merchant", args=[demo.pk])).content.decode()
    assert all(name in html for name in names)
    assert "Recent runs" in html
    assert "Activity" in html
    assert selectors.health_cached(merchant=demo) is not None


def test_create_edit_deactivate_and_reactivate_a_merchant(partner_client, demo_partner, sandbox):  # noqa: F811
    response = partner_client.post(
        reverse("partner:merchant-new"),
        {
            "external_id": "acme-001",
            "name": "Acme Outdoor",
            "timezone": "America/New_York",
            "currency": "usd",
            "connex_environment": "sandbox",
            "connex_username": DEMO_ACCOUNT,
            "connex_password": "connex-demo",
        },
    )
    acme = Merchant.objects.get(partner=demo_partner, external_id="acme-001")
    assert response.status_code == 302 and response["Location"] == reverse("partner:merchant", args=[acme.pk])
    assert acme.currency == "USD" and acme.connex_account.is_verified
    created = ActivityEntry.objects.get(merchant=acme, action="merchant.created")
    assert (
        created.actor_kind == "partner_user" and created.channel == "console" and created.actor_label == PARTNER_EMAIL
    )

    duplicate = partner_client.post(
        reverse("partner:merchant-new"),
        {"external_id": "acme-001", "name": "Again", "timezone": "UTC", "currency": "USD"},
    )
    assert duplicate.status_code == 422
    assert "You already have a merchant with this id." in duplicate.content.decode()

    response = partner_client.post(
        reverse("partner:merchant-edit", args=[acme.pk]),
        {
            "name": "Acme Outdoor Co.",
            "timezone": "Europe/Paris",
            "currency": "EUR",
            "connex_environment": "sandbox",
            "connex_username": DEMO_ACCOUNT,
            "connex_password": "",
        },
    )
    assert response.status_code == 302
    acme.refresh_from_db()
    assert (acme.name, acme.timezone, acme.currency) == ("Acme Outdoor Co.", "Europe/Paris", "EUR")
    changed = ActivityEntry.objects.get(merchant=acme, action="merchant.changed")
    assert set(changed.changes) == {"name", "timezone", "currency"}

    session = EmbedSession.objects.create(
        token_hash="x" * 64,
        partner=demo_partner,
        merchant=acme,
        expires_at="2999-01-01T00:00:00Z",
        launch=EmbedLaunch.objects.create(
            token_hash="y" * 64, partner=demo_partner, merchant=acme, expires_at="2999-01-01T00:00:00Z"
        ),
    )
    assert partner_client.post(reverse("partner:merchant-deactivate", args=[acme.pk])).status_code == 302
    acme.refresh_from_db()
    session.refresh_from_db()
    assert not acme.is_active and session.revoked_at is not None
    assert ActivityEntry.objects.filter(merchant=acme, action="merchant.deactivated").exists()
    assert "Deactivated" in partner_client.get(reverse("partner:merchant", args=[acme.pk])).content.decode()

    assert partner_client.post(reverse("partner:merchant-reactivate", args=[acme.pk])).status_code == 302
    acme.refresh_from_db()
    assert acme.is_active


def test_a_login_connex_refuses_is_a_field_error_and_nothing_is_created(partner_client, demo_partner):  # noqa: F811
    response = partner_client.post(
        reverse("partner:merchant-new"),
        {
            "external_id": "acme-002",
            "name": "Acme",
            "timezone": "UTC",
            "currency": "USD",
            "connex_environment": "sandbox",
            "connex_username": DEMO_ACCOUNT,
            "connex_password": "wrong",
        },
    )
    assert response.status_code == 422
    assert "refused this username and password" in response.content.decode()
    assert not Merchant.objects.filter(external_id="acme-002").exists()


def test_a_partial_connex_login_is_refused(partner_client):  # noqa: F811
    response = partner_client.post(
        reverse("partner:merchant-new"),
        {"external_id": "acme-003", "name": "Acme", "timezone": "UTC", "currency": "USD", "connex_username": "x"},
    )
    assert response.status_code == 422
    assert response.content.decode().count("Needed with the rest of the Connex login.") == 2


def test_open_as_merchant_mints_a_single_use_launch_and_records_it(partner_client, sandbox):  # noqa: F811
    demo = merchant()
    response = partner_client.post(reverse("partner:merchant-open", args=[demo.pk]))
    assert response.status_code == 303
    assert "no-store" in response["Cache-Control"]
    launch_path = response["Location"]
    assert launch_path.startswith("/embed/launch/")
    launch = EmbedLaunch.objects.get(merchant=demo)
    assert launch.user_email == PARTNER_EMAIL

    entry = ActivityEntry.objects.get(merchant=demo, action="merchant.opened_as")
    assert entry.actor_label == PARTNER_EMAIL and entry.channel == "console"
    # The merchant sees it in its own trail too.
    trail = partner_client.get(reverse("partner:merchant", args=[demo.pk])).content.decode()
    assert "Opened as the merchant by the partner" in trail

    # The launch opens the merchant's portal as a top-level page, once.
    from django.test import Client

    tab = Client()
    opened = tab.get(launch_path, follow=True)
    assert opened.status_code == 200
    assert "Demo Outdoor Supply" in opened.content.decode() or "Connections" in opened.content.decode()
    assert Client().get(launch_path).status_code != 302


def test_a_deactivated_merchant_cannot_be_opened(partner_client, demo_partner):  # noqa: F811
    demo = merchant()
    demo.is_active = False
    demo.save()
    response = partner_client.post(reverse("partner:merchant-open", args=[demo.pk]))
    assert response.status_code == 302
    assert not EmbedLaunch.objects.filter(merchant=demo).exists()


def test_a_merchant_without_external_id_is_read_only(partner_client, demo_partner):  # noqa: F811
    staff_made = Merchant.objects.create(partner=demo_partner, name="Staff Made")
    html = partner_client.get(reverse("partner:merchant", args=[staff_made.pk])).content.decode()
    assert "changed only by the portal's staff" in html
    assert partner_client.get(reverse("partner:merchant-edit", args=[staff_made.pk])).status_code == 404
    assert partner_client.post(reverse("partner:merchant-deactivate", args=[staff_made.pk])).status_code == 404


# --- API keys ---------------------------------------------------------------------------------


def test_issue_shows_the_key_once_and_revoke_refuses_it(partner_client, demo_partner, client):  # noqa: F811
    response = partner_client.post(reverse("partner:api-keys"), {"name": "production"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    plaintext = re.search(r'value="(cxp_[^"]+)"', html)[1]
    key = PartnerApiKey.authenticate(plaintext)
    assert key is not None and key.partner == demo_partner and key.name == "production"
    assert not response.cookies.get("messages")
    assert plaintext not in partner_client.get(reverse("partner:api-keys")).content.decode()
    assert ActivityEntry.objects.filter(action="api_key.issued", actor_label=PARTNER_EMAIL).exists()

    api = client.get("/api/v1/merchants", HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert api.status_code == 200
    listing = partner_client.get(reverse("partner:api-keys")).content.decode()
    assert "production" in listing and "Never" not in listing.split("production", 1)[1].split("</tr>", 1)[0]

    assert partner_client.post(reverse("partner:api-key-revoke", args=[key.pk])).status_code == 302
    assert PartnerApiKey.authenticate(plaintext) is None
    assert client.get("/api/v1/merchants", HTTP_AUTHORIZATION=f"Bearer {plaintext}").status_code == 401
    assert ActivityEntry.objects.filter(action="api_key.revoked", actor_label=PARTNER_EMAIL).exists()


def test_a_key_needs_a_name(partner_client):  # noqa: F811
    response = partner_client.post(reverse("partner:api-keys"), {"name": ""})
    assert response.status_code == 422
    assert "cxp_" not in re.sub(r"<code>cxp_[^<]*</code>", "", response.content.decode())


# --- Branding ----------------------------------------------------------------------------------


def test_branding_saves_with_the_admins_validation_and_records_changes(partner_client, demo_partner):  # noqa: F811
    form = {
        "primary_color": "#112233",
        "accent_color": "#445566",
        "theme": "dark",
        "default_language": "fr",
        "service_name": "Acme Sync",
        "embed_chrome": "compact",
        "embed_origins": "https://app.acme.example",
        "hide_orders": "on",
        "allow_run_now": "on",
    }
    response = partner_client.post(reverse("partner:branding"), {**form, "logo_file": _upload(PNG)})
    assert response.status_code == 302
    demo_partner.refresh_from_db()
    assert (demo_partner.primary_color, demo_partner.theme, demo_partner.service_name) == (
        "#112233",
        "dark",
        "Acme Sync",
    )
    assert demo_partner.hide_orders and not demo_partner.hide_products and demo_partner.logo_content_type == "image/png"
    assert demo_partner.origins == ["https://app.acme.example"]
    entry = ActivityEntry.objects.get(action="partner.changed", partner=demo_partner)
    assert entry.actor_kind == "partner_user" and {"primary_color", "logo", "embed_origins"} <= set(entry.changes)

    bad = partner_client.post(
        reverse("partner:branding"),
        {
            **form,
            "primary_color": "#12345g",
            "embed_origins": "http://evil.example/path",
            "logo_file": _upload(b"<svg onload=alert(1)>"),
        },
    )
    assert bad.status_code == 422
    html = bad.content.decode()
    assert "#rrggbb" in html and "must be an origin only" in html
    assert "SVG is not accepted" in html
    demo_partner.refresh_from_db()
    assert demo_partner.primary_color == "#112233"


def test_preview_shows_unsaved_values_on_sample_data_and_is_framable_by_the_console_only(partner_client, demo_partner):  # noqa: F811
    response = partner_client.get(
        reverse("partner:branding-preview"),
        {
            "primary_color": "#abcdef",
            "accent_color": "#123456",
            "theme": "dark",
            "service_name": "Acme Sync",
            "embed_chrome": "full",
            "hide_products": "on",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-theme="dark"' in html and "Acme Sync account" in html
    assert "Products" not in html and "Orders" in html and "Run now" not in html
    assert "Demo Outdoor Supply" not in html and "Other Demo Books" not in html
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]
    theme_url = re.search(r'href="([^"]*preview/theme.css[^"]*)"', html)[1].replace("&amp;", "&")
    css = partner_client.get(theme_url).content.decode()
    assert "#abcdef" in css and "#123456" in css

    hostile = partner_client.get(
        reverse("partner:branding-preview-theme"), {"primary_color": "red;}body{display:none", "accent_color": "#0"}
    ).content.decode()
    assert demo_partner.primary_color in hostile and demo_partner.accent_color in hostile and "display" not in hostile


def _upload(content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("logo", content)


def test_staff_and_partner_names_stay_in_the_admin(partner_client, demo_partner):  # noqa: F811
    partner_client.post(
        reverse("partner:branding"),
        {
            "primary_color": "#112233",
            "accent_color": "#445566",
            "theme": "light",
            "default_language": "en",
            "service_name": "X",
            "embed_chrome": "none",
            "name": "Renamed",
            "is_active": "",
        },
    )
    assert Partner.objects.get(pk=demo_partner.pk).name == "Demo Partner"
    assert Partner.objects.get(pk=demo_partner.pk).is_active

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from connexportal.accounts.branding import sniff_logo
from connexportal.accounts.models import Merchant, Partner, PartnerApiKey, parse_origins, validate_embed_origins
from connexportal.embed.views import frame_ancestors

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.mark.parametrize(
    "origin",
    [
        "https://app.example.com",
        "https://app.example.com:8443",
        "http://localhost:8001",
        "http://127.0.0.1:3000",
        "http://[::1]:8000",
        "https://xn--bcher-kva.example",
        "https://203.0.113.7",
        "https://[2001:db8::1]:8443",
    ],
)
def test_valid_embed_origins(origin):
    validate_embed_origins(origin)


@pytest.mark.parametrize(
    ("origin", "message"),
    [
        ("app.example.com", "is not an origin"),
        ("https://app.example.com/path", "must be an origin only"),
        ("https://app.example.com/", "must be an origin only"),
        ("https://user:pw@app.example.com", "must be an origin only"),
        ("http://app.example.com", "must use https"),
        ("https://App.Example.com", "exactly, in lower case"),
        ("https://*.example.com", "exactly, in lower case, without wildcards"),
        ("https://app.example.com:99999", "invalid port"),
        ("ftp://app.example.com", "is not an origin"),
        ("https://app.example.com;script-src", "has no valid host name"),
        ("https://app.example.com;", "has no valid host name"),
        ("https://'self'", "has no valid host name"),
        ('https://app.example.com"', "has no valid host name"),
        ("https://app_1.example.com", "has no valid host name"),
        ("https://-app.example.com", "has no valid host name"),
        ("https://app.example.com.", "has no valid host name"),
        ("https://999.1.2.3", "has no valid host name"),
        ("https://[fe80::1%eth0]", "has no valid host name"),
        ("https://[::1", "is not an origin"),
        ("https://app.example.com:", "invalid port"),
        ("https://app.example.com:0443", "invalid port"),
        ("https://bücher.example", "with its host in ASCII: https://xn--bcher-kva.example"),
    ],
)
def test_invalid_embed_origins_say_why(origin, message):
    with pytest.raises(ValidationError) as caught:
        validate_embed_origins(f"https://ok.example.com\n{origin}")
    assert any(message in text for text in caught.value.messages)


def test_origins_are_split_on_spaces_and_commas_so_a_policy_cannot_ride_along():
    with pytest.raises(ValidationError) as caught:
        validate_embed_origins("https://ok.example.com 'unsafe-inline',https://b.example.com")
    assert caught.value.messages == ["'unsafe-inline' is not an origin; write it as https://host or https://host:port."]
    assert parse_origins("https://a.example\nhttps://a.example, https://b.example") == [
        "https://a.example",
        "https://b.example",
    ]


def test_frame_ancestors_drop_an_unsafe_origin_stored_before_validation():
    # .create() skips the model's validators, as the values saved before the fix did.
    partner = Partner.objects.create(
        name="Old", embed_origins="https://ok.example.com\nhttps://evil.example.com;script-src\nhttps://*"
    )
    assert frame_ancestors(partner) == ["https://ok.example.com"]
    partner.embed_origins = "https://evil.example.com;script-src"
    assert frame_ancestors(partner) == ["'none'"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [(PNG, "image/png"), (b"\xff\xd8\xff\xe0" + b"0" * 10, "image/jpeg"), (b"RIFF0000WEBPVP8 ", "image/webp")],
)
def test_logo_types_are_sniffed(content, expected):
    assert sniff_logo(content) == expected


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "SVG is not accepted"),
        (b"", "empty"),
        (PNG + b"\x00" * 300_000, "the limit is 256 KB"),
    ],
)
def test_bad_logos_are_refused(content, message):
    with pytest.raises(ValidationError) as caught:
        sniff_logo(content)
    assert message in caught.value.messages[0]


def test_colors_must_be_hex():
    partner = Partner(name="Bad colours", primary_color="red;} body{display:none", accent_color="#12345g")
    with pytest.raises(ValidationError) as caught:
        partner.full_clean()
    assert set(caught.value.message_dict) >= {"primary_color", "accent_color"}


def test_api_keys_are_hashed_shown_once_and_rotatable():
    partner = Partner.objects.create(name="Acme")
    first, first_plain = PartnerApiKey.issue(partner)
    second, second_plain = PartnerApiKey.issue(partner, name="rotation")
    # cxp_<prefix>_<secret>: the secret (URL-safe base64, which may hold "_" itself) is stored nowhere.
    secret = first_plain.split("_", 2)[2]
    assert first_plain not in first.key_hash and secret not in str(first.__dict__)
    assert PartnerApiKey.authenticate(first_plain) == first
    assert PartnerApiKey.authenticate(second_plain) == second
    first.revoked_at = first.created_at
    first.save()
    assert PartnerApiKey.authenticate(first_plain) is None
    assert PartnerApiKey.authenticate(second_plain) == second
    assert PartnerApiKey.authenticate(second_plain[:-1] + "x") is None
    assert PartnerApiKey.authenticate("not-a-key") is None
    partner.is_active = False
    partner.save()
    assert PartnerApiKey.authenticate(second_plain) is None


def test_create_partner_command_prints_a_working_key_once():
    out = io.StringIO()
    call_command("create_partner", "Acme Books", "--embed-origin", "https://app.acme.test", stdout=out)
    key = out.getvalue().split("API key (shown once, store it now): ")[1].strip()
    partner = Partner.objects.get(name="Acme Books")
    assert partner.origins == ["https://app.acme.test"]
    assert PartnerApiKey.authenticate(key).partner == partner
    assert key not in "".join(PartnerApiKey.objects.values_list("key_hash", flat=True))


def test_create_partner_rejects_a_bad_origin():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="must use https"):
        call_command("create_partner", "Evil", "--embed-origin", "http://evil.test", stdout=io.StringIO())
    assert not Partner.objects.filter(name="Evil").exists()


def test_external_id_is_unique_per_partner():
    from django.db import IntegrityError, transaction

    acme, other = Partner.objects.create(name="Acme"), Partner.objects.create(name="Other")
    Merchant.objects.create(name="A", partner=acme, external_id="m-1")
    Merchant.objects.create(name="B", partner=other, external_id="m-1")
    Merchant.objects.create(name="C", partner=acme, external_id="")
    Merchant.objects.create(name="D", partner=acme, external_id="")
    with pytest.raises(IntegrityError), transaction.atomic():
        Merchant.objects.create(name="E", partner=acme, external_id="m-1")


def test_theme_css_and_logo_are_served_with_long_caching(client):
    partner = Partner.objects.create(name="Acme", primary_color="#112233", accent_color="#445566")
    partner.set_logo(PNG, "image/png")
    partner.save()
    css = client.get(f"/branding/{partner.pk}/theme.css")
    assert css["Content-Type"].startswith("text/css")
    assert "--cx-color-primary: #112233;" in css.content.decode()
    assert "immutable" in css["Cache-Control"]
    logo = client.get(f"/branding/{partner.pk}/logo")
    assert logo.content == PNG and logo["Content-Type"] == "image/png"
    assert client.get("/branding/999/logo").status_code == 404


def test_admin_logo_upload_is_validated(admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {
        "name": "Acme",
        "primary_color": "#112233",
        "accent_color": "#445566",
        "theme": "dark",
        "default_language": "fr",
        "service_name": "Acme Sync",
        "embed_chrome": "compact",
        "embed_origins": "https://app.acme.test",
        "allow_run_now": "on",
        "is_active": "on",
        "api_keys-TOTAL_FORMS": "0",
        "api_keys-INITIAL_FORMS": "0",
        "api_keys-MIN_NUM_FORMS": "0",
        "api_keys-MAX_NUM_FORMS": "1000",
        "webhook_endpoints-TOTAL_FORMS": "0",
        "webhook_endpoints-INITIAL_FORMS": "0",
        "webhook_endpoints-MIN_NUM_FORMS": "0",
        "webhook_endpoints-MAX_NUM_FORMS": "1000",
    }
    bad = admin_client.post(
        "/admin/accounts/partner/add/", {**data, "logo_file": SimpleUploadedFile("x.svg", b"<svg></svg>")}
    )
    assert bad.status_code == 200
    assert "SVG is not accepted" in bad.content.decode()
    good = admin_client.post("/admin/accounts/partner/add/", {**data, "logo_file": SimpleUploadedFile("x.png", PNG)})
    assert good.status_code == 302
    partner = Partner.objects.get(name="Acme")
    assert (partner.service_name, partner.embed_chrome) == ("Acme Sync", "compact")
    assert partner.logo_content_type == "image/png"


@pytest.mark.parametrize(("field", "value"), [("external_id", "m-1\n"), ("currency", "USD\n"), ("external_id", "a b")])
def test_merchant_codes_refuse_trailing_newlines_and_spaces(field, value):
    with pytest.raises(ValidationError) as caught:
        Merchant(name="X", **{field: value}).full_clean()
    assert field in caught.value.message_dict


def test_admin_shows_new_api_keys_once_on_the_actions_own_page_never_in_a_cookie(admin_client):
    import re

    from django.urls import reverse

    acme, other = Partner.objects.create(name="Acme"), Partner.objects.create(name="Other")
    changelist = reverse("admin:accounts_partner_changelist")
    response = admin_client.post(changelist, {"action": "issue_api_key", "_selected_action": [acme.pk, other.pk]})
    html = response.content.decode()

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    keys = re.findall(r"<td>(\w+)</td><td><code>(cxp_[^<]+)</code></td>", html)
    assert {name: PartnerApiKey.authenticate(key).partner for name, key in keys} == {"Acme": acme, "Other": other}
    for _name, key in keys:
        assert all(key not in morsel.value for morsel in response.cookies.values())
        assert all(key not in str(value) for value in admin_client.session.values())
        assert key not in admin_client.get(changelist).content.decode()

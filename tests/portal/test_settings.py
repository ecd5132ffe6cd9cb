import datetime as dt

import pytest

from connexportal.sandbox import faults
from tests.portal.conftest import DEMO_ACCOUNT, sandbox_connections, sandbox_setting

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(sandbox):
    return sandbox_connections(DEMO_ACCOUNT)[0]


def url(connection, suffix=""):
    return f"/connections/{connection.id}/settings/{suffix}"


def form_data(client, connection, **overrides):
    """What the browser submits: the form as the page renders it, with the user's edits."""
    form = client.get(url(connection)).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data.update({"LastDownloadUtc": "2026-10-01T00:00", "LastDownloadUtcEnd": "2026-10-02T23:59"})
    data.update(overrides)
    return data


def test_settings_page_shows_windows_in_utc_and_local_time(merchant_client, connection):
    response = merchant_client.get(url(connection))
    html = response.content.decode()
    assert response.status_code == 200
    start = dt.datetime.fromisoformat(sandbox_setting(connection.id, "LastDownloadUtc")[:19])
    assert f'value="{start:%Y-%m-%dT%H:%M}"' in html
    assert "America/New_York" in html
    assert "your time" in html
    assert 'name="SummaryTransactionGroupBy"' in html
    for hidden in ("SolutionUserName", "SolutionPassword", "SolutionParameter", "ShopifyToken", "Stores"):
        assert f'name="{hidden}"' not in html
        value = sandbox_setting(connection.id, hidden)
        if value:
            assert value not in html


def test_settings_page_costs_one_upstream_call(merchant_client, connection, sandbox):
    merchant_client.get(url(connection))
    sandbox.reset()
    merchant_client.get(url(connection))
    assert sandbox.calls == [("GET", "API/UserConnections/List")]


def test_saving_sends_only_changed_settings_and_blanks_nothing(merchant_client, connection, sandbox):
    before = {
        name: sandbox_setting(connection.id, name)
        for name in (
            "SolutionPassword",
            "LastProductDownloadUtc",
            "LastProductUploadUtcEnd",
            "SummaryTransactionGroupBy",
        )
    }
    data = form_data(merchant_client, connection)
    sandbox.reset()
    response = merchant_client.post(url(connection), data)
    assert response.status_code == 302
    assert response["Location"] == url(connection)
    assert sandbox.calls == [("POST", "API/Settings/Update")]
    assert sandbox_setting(connection.id, "LastDownloadUtc").startswith("2026-10-01T00:00")
    assert sandbox_setting(connection.id, "LastDownloadUtcEnd").startswith("2026-10-02T23:59")
    for name, value in before.items():
        assert sandbox_setting(connection.id, name) == value


def test_htmx_save_rerenders_the_form_and_tells_the_host(merchant_client, connection):
    merchant_client.get(url(connection))
    response = merchant_client.post(
        url(connection),
        form_data(merchant_client, connection, SummaryTransactionGroupBy="0"),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="settings-fields",
    )
    html = response.content.decode()
    assert response.status_code == 200
    # The fields, then the feedback beside the Save button (out of band): never the whole page.
    assert html.lstrip().startswith('<div id="settings-fields"')
    assert '<div id="save-feedback"' in html and 'hx-swap-oob="innerHTML"' in html
    assert "<html" not in html
    assert "Settings saved." in html
    assert "connex:settings_saved" in response["HX-Trigger"]
    assert sandbox_setting(connection.id, "SummaryTransactionGroupBy") == "0"


def test_unchanged_form_sends_nothing(merchant_client, connection, sandbox):
    form = merchant_client.get(url(connection)).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    sandbox.reset()
    response = merchant_client.post(url(connection), data, follow=True)
    assert sandbox.calls == [("GET", "API/UserConnections/List")]
    assert "Nothing changed" in response.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"LastDownloadUtcEnd": "2026-09-01T00:00"}, "LastDownloadUtcEnd", "The end must be on or after the start."),
        ({"LastDownloadUtc": "1999-12-31T00:00"}, "LastDownloadUtc", "Choose a date after 1 January 2000."),
        ({"LastDownloadUtcEnd": "2099-01-01T00:00"}, "LastDownloadUtcEnd", "Choose a date less than a year from now."),
        ({"LastDownloadUtc": "yesterday"}, "LastDownloadUtc", "Enter a date and time as YYYY-MM-DD HH:MM (UTC)."),
        ({"LastDownloadUtc": ""}, "LastDownloadUtc", "This field is required."),
        (
            {"LastDownloadUtc": "2025-01-01T00:00", "LastDownloadUtcEnd": "2026-10-01T00:00"},
            "LastDownloadUtcEnd",
            "A window can span at most 366 days.",
        ),
        ({"SummaryTransactionGroupBy": "42"}, "SummaryTransactionGroupBy", "Select a valid choice."),
    ],
)
def test_invalid_input_gets_a_field_error_and_keeps_what_was_typed(
    merchant_client, connection, sandbox, overrides, field, message
):
    data = form_data(merchant_client, connection, **overrides)
    sandbox.reset()
    response = merchant_client.post(url(connection), data)
    html = response.content.decode()
    assert response.status_code == 422
    assert message in response.context["form"].errors[field][0]
    assert 'aria-invalid="true"' in html or field == "SummaryTransactionGroupBy"
    for name in ("LastDownloadUtc", "LastDownloadUtcEnd"):
        if data[name]:
            assert f'value="{data[name]}"' in html
    assert sandbox.calls == []


@pytest.mark.parametrize("fault", ["503=1", "html=1", "500=1"])
def test_upstream_failure_on_save_keeps_the_form(merchant_client, connection, fault):
    merchant_client.get(url(connection))
    before = sandbox_setting(connection.id, "LastDownloadUtc")
    with faults.injected(fault, account=DEMO_ACCOUNT):
        response = merchant_client.post(
            url(connection), form_data(merchant_client, connection, LastDownloadUtc="2026-10-01T06:30")
        )
    html = response.content.decode()
    assert response.status_code == 503
    assert "could not save the settings" in html
    assert "nothing was lost" in html
    assert 'value="2026-10-01T06:30"' in html
    assert sandbox_setting(connection.id, "LastDownloadUtc") == before


def test_unknown_summary_value_is_shown_and_kept(merchant_client, connection):
    from connexportal.sandbox.models import ConnectionSetting

    ConnectionSetting.objects.filter(connection=connection, name="SummaryTransactionGroupBy").update(value="9")
    page = merchant_client.get(url(connection))
    html = page.content.decode()
    assert '<option value="9" selected>Current setting (9), not known to this portal</option>' in html
    response = merchant_client.post(
        url(connection), form_data(merchant_client, connection, SummaryTransactionGroupBy="9")
    )
    assert response.status_code == 302
    assert sandbox_setting(connection.id, "SummaryTransactionGroupBy") == "9"


def test_window_preview_counts_orders_in_one_call(merchant_client, sandbox):
    from django.db.models import Count

    from connexportal.sandbox.models import Order, UserConnection

    connection = (
        UserConnection.objects.filter(user__username=DEMO_ACCOUNT).annotate(n=Count("orders")).order_by("-n").first()
    )
    merchant_client.get(url(connection))
    orders = Order.objects.filter(connection=connection).order_by("order_date")
    first, last = orders.first().order_date, orders.last().order_date
    expected = orders.filter(order_date__date__gte=first.date(), order_date__date__lte=last.date()).count()
    sandbox.reset()
    response = merchant_client.get(
        url(connection, "preview/"),
        {"LastDownloadUtc": f"{first:%Y-%m-%dT00:00}", "LastDownloadUtcEnd": f"{last:%Y-%m-%dT23:59}"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert f"Connex already holds {expected} orders in it." in html
    assert "This window spans" in html
    assert len(sandbox.calls) == 1 and sandbox.calls[0] == ("POST", "api/orders/list")


def test_window_preview_explains_a_backwards_window(merchant_client, connection, sandbox):
    merchant_client.get(url(connection))
    sandbox.reset()
    response = merchant_client.get(
        url(connection, "preview/"), {"LastDownloadUtc": "2026-10-02T00:00", "LastDownloadUtcEnd": "2026-10-01T00:00"}
    )
    assert "The end must be on or after the start." in response.content.decode()
    assert sandbox.calls == []


def test_htmx_save_leaves_no_message_for_the_next_page(merchant_client, connection):
    data = form_data(merchant_client, connection, SummaryTransactionGroupBy="0")
    response = merchant_client.post(url(connection), data, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="settings-fields")
    assert "Run a sync now to use them straight away." in response.content.decode()
    assert "Settings saved." not in merchant_client.get("/connections/").content.decode()


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("0001-01-01T00:00", "2026-10-01T00:00", "Choose a date after 1 January 2000."),
        ("2026-10-01T00:00", "9999-12-31T23:59", "Choose a date less than a year from now."),
    ],
)
def test_window_preview_refuses_dates_out_of_range_without_calling_connex(
    merchant_client, connection, sandbox, start, end, message
):
    merchant_client.get(url(connection))
    sandbox.reset()
    response = merchant_client.get(url(connection, "preview/"), {"LastDownloadUtc": start, "LastDownloadUtcEnd": end})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert sandbox.calls == []


def test_after_a_save_the_products_page_still_costs_one_call(merchant_client, connection, sandbox):
    # A save drops the last known list (its settings changed); the connections' names, which
    # products and orders show, stay known on their own: no list call to label the rows.
    data = form_data(merchant_client, connection)
    assert merchant_client.post(url(connection), data).status_code == 302
    sandbox.reset()
    response = merchant_client.get("/products/")
    assert response.status_code == 200
    assert sandbox.calls == [("POST", "api/products/list")]
    assert f'<option value="{connection.id}"' in response.content.decode()

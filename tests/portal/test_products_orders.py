import datetime as dt
import re

import pytest
from django.utils import timezone

from connexportal.sandbox import faults
from tests.portal.conftest import DEMO_ACCOUNT, OTHER_ACCOUNT

pytestmark = pytest.mark.django_db


def demo_products():
    from connexportal.sandbox.models import Product

    return Product.objects.filter(connection__user__username=DEMO_ACCOUNT)


def demo_orders():
    from connexportal.sandbox.models import Order

    return Order.objects.filter(connection__user__username=DEMO_ACCOUNT)


def skus_in(html: str) -> list[str]:
    return re.findall(r'<td data-label="SKU"><code>([^<]+)</code>', html)


def test_products_first_page_with_total(merchant_client, sandbox):
    response = merchant_client.get("/products/")
    html = response.content.decode()
    assert response.status_code == 200
    total = demo_products().count()
    assert f"{total} products" in html
    assert len(skus_in(html)) == 25
    assert f"1\u201325 of {total}" in html


def test_products_sort_search_page_and_size_follow_the_url(merchant_client, sandbox):
    expected = list(demo_products().order_by("-sku", "-id").values_list("sku", flat=True)[10:20])
    html = merchant_client.get("/products/?sort=sku&dir=desc&page=2&size=10").content.decode()
    assert skus_in(html) == expected
    assert 'aria-sort="descending"' in html
    assert "?sort=sku&amp;dir=desc&amp;page=3&amp;size=10" in html or "page=3" in html

    target = demo_products().order_by("id").first()
    html = merchant_client.get("/products/", {"q": target.sku}).content.decode()
    assert target.sku in skus_in(html)
    assert all(target.sku.lower() in sku.lower() for sku in skus_in(html))


def test_products_filters(merchant_client, sandbox):
    unknown = demo_products().filter(has_unknown_sku=True)
    html = merchant_client.get("/products/", {"unknown": "1", "size": "100"}).content.decode()
    assert sorted(skus_in(html)) == sorted(unknown.values_list("sku", flat=True))
    assert html.count("Unknown SKU</span>") == unknown.count()

    manual = demo_products().filter(is_manual=True)
    html = merchant_client.get("/products/", {"manual": "1", "size": "100"}).content.decode()
    assert sorted(skus_in(html)) == sorted(manual.values_list("sku", flat=True))

    connection_id = demo_products().values_list("connection_id", flat=True).first()
    html = merchant_client.get("/products/", {"connection": connection_id, "size": "100"}).content.decode()
    assert sorted(skus_in(html)) == sorted(
        demo_products().filter(connection_id=connection_id).values_list("sku", flat=True)
    )


def test_products_bad_query_values_fall_back_instead_of_failing(merchant_client, sandbox):
    response = merchant_client.get("/products/?page=-3&size=7&sort=drop+table&dir=sideways&type=x")
    assert response.status_code == 200
    assert len(skus_in(response.content.decode())) == 25


def test_products_htmx_renders_only_results(merchant_client, sandbox):
    response = merchant_client.get("/products/?page=2", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="results"')
    assert "<form" not in html


def test_products_page_costs_one_upstream_call(merchant_client, sandbox):
    merchant_client.get("/products/")
    sandbox.reset()
    merchant_client.get("/products/?page=2&q=a")
    assert sandbox.calls == [("POST", "api/products/list")]


def test_products_upstream_failure_is_a_clear_message(merchant_client, sandbox):
    merchant_client.get("/products/")
    with faults.injected("503=1", account=DEMO_ACCOUNT):
        response = merchant_client.get("/products/?q=keep-me")
    html = response.content.decode()
    assert response.status_code == 503
    assert "could not load your products" in html
    assert 'value="keep-me"' in html


def test_orders_default_to_the_last_30_days(merchant_client, sandbox):
    today = timezone.now().date()
    start = today - dt.timedelta(days=30)
    expected = demo_orders().filter(order_date__date__gte=start, order_date__date__lte=today).count()
    html = merchant_client.get("/orders/").content.decode()
    assert f'value="{start:%Y-%m-%d}"' in html
    assert f'value="{today:%Y-%m-%d}"' in html
    assert f"{expected} orders from {start:%b %-d, %Y} to {today:%b %-d, %Y}" in html


def test_orders_search_range_line_items_and_money(merchant_client, sandbox):
    order = demo_orders().order_by("id").first()
    day = order.order_date.date()
    response = merchant_client.get(
        "/orders/", {"start": f"{day:%Y-%m-%d}", "end": f"{day:%Y-%m-%d}", "q": order.order_number}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert f"<summary>{order.order_number}" in html
    assert order.customer_name in html
    line = order.lines.first()
    assert f"<code>{line.sku}</code>" in html
    assert re.search(r"\$\d{1,3}(,\d{3})*\.\d{2}", html)


def test_orders_backwards_range_is_explained(merchant_client, sandbox):
    response = merchant_client.get("/orders/", {"start": "2026-10-10", "end": "2026-10-01"})
    assert response.status_code == 200
    assert "The end date must be on or after the start date." in response.content.decode()


def test_orders_sorted_by_total(merchant_client, sandbox):
    today = timezone.now().date()
    html = merchant_client.get(
        "/orders/", {"start": f"{today - dt.timedelta(days=365):%Y-%m-%d}", "sort": "totalProductSales", "dir": "asc"}
    ).content.decode()
    totals = [
        float(value.replace(",", ""))
        for value in re.findall(
            r'<td class="num" data-label="Total">\$([\d,]+\.\d{2})</td>\s*<td data-label="Channel">', html
        )
    ]
    assert totals and totals == sorted(totals)


def test_other_merchant_products_and_orders_are_its_own(other_client, sandbox):
    from connexportal.sandbox.models import Product

    html = other_client.get("/products/?size=100").content.decode()
    own = set(Product.objects.filter(connection__user__username=OTHER_ACCOUNT).values_list("sku", flat=True))
    assert set(skus_in(html)) <= own
    assert not set(skus_in(html)) & set(demo_products().values_list("sku", flat=True)) - own


def range_shown(html: str) -> tuple[dt.date, dt.date]:
    start, end = re.search(r"orders from (\w{3} \d+, \d{4}) to (\w{3} \d+, \d{4})", html).groups()
    return tuple(dt.datetime.strptime(day, "%b %d, %Y").date() for day in (start, end))


@pytest.mark.parametrize(
    ("query", "note"),
    [
        ({"end": "0001-01-01"}, "Dates can run from 2000-01-01 to "),
        ({"start": "0001-01-01"}, "Dates can run from 2000-01-01 to "),
        ({"start": "9999-12-31"}, "Dates can run from 2000-01-01 to "),
        ({"end": "9999-12-31"}, "Dates can run from 2000-01-01 to "),
        ({"start": "9999-12-31", "end": "0001-01-01"}, "Dates can run from 2000-01-01 to "),
        ({"start": "10000-01-01"}, "The start date is not a date (use YYYY-MM-DD)"),
        ({"start": "garbage", "end": "2026-02-30"}, "The end date is not a date (use YYYY-MM-DD)"),
        ({"start": "2000-01-01", "end": "2000-01-01"}, None),
    ],
)
def test_orders_out_of_range_or_bad_dates_are_explained_not_a_500(merchant_client, sandbox, query, note):
    response = merchant_client.get("/orders/", query)
    html = response.content.decode()
    assert response.status_code == 200
    if note is None:
        assert 'class="notice notice-warning"' not in html
    else:
        assert note in html
    start, end = range_shown(html)
    today = timezone.now().date()
    assert dt.date(2000, 1, 1) <= start <= end <= today + dt.timedelta(days=366)
    assert sandbox.calls[-1] == ("POST", "api/orders/list")


def test_orders_default_range_never_starts_before_2000(merchant_client, sandbox):
    html = merchant_client.get("/orders/", {"end": "2000-01-10"}).content.decode()
    assert range_shown(html) == (dt.date(2000, 1, 1), dt.date(2000, 1, 10))


def test_orders_start_alone_in_the_future_is_a_range_not_an_error(merchant_client, sandbox):
    later = timezone.now().date() + dt.timedelta(days=10)
    html = merchant_client.get("/orders/", {"start": f"{later:%Y-%m-%d}"}).content.decode()
    assert range_shown(html) == (later, later)
    assert "The end date must be on or after the start date." not in html


@pytest.mark.parametrize("page", ["99999999999999999999", "100001", "1" * 5000, "0", "2.5", "abc"])
def test_products_absurd_page_numbers_show_the_first_page_with_a_note(merchant_client, sandbox, page):
    response = merchant_client.get("/products/", {"page": page})
    html = response.content.decode()
    assert response.status_code == 200
    assert "showing the first page." in html
    assert f"1\u201325 of {demo_products().count()}" in html
    assert sandbox.calls[-1] == ("POST", "api/products/list")


def test_orders_absurd_page_number_shows_the_first_page_with_a_note(merchant_client, sandbox):
    response = merchant_client.get("/orders/", {"page": "99999999999999999999", "start": "2000-01-01"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Page numbers stop at 100000; showing the first page." in html
    assert "Page 1 of " in html


def test_a_page_past_the_last_is_explained_with_a_link_to_the_last(merchant_client, sandbox):
    pages = -(-demo_products().count() // 25)
    response = merchant_client.get("/products/?page=100000&sort=sku", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    html = response.content.decode()
    assert response.status_code == 200
    assert f"There is no page 100000: the list has {pages} pages." in html
    assert f'href="?page={pages}&amp;sort=sku"' in html
    assert not skus_in(html)


def test_products_bad_sort_size_and_type_are_each_noted(merchant_client, sandbox):
    html = merchant_client.get("/products/?size=7&sort=drop+table&dir=sideways&type=x&connection=x").content.decode()
    for note in (
        "Rows per page can be 10, 25, 50 or 100; showing 25.",
        "The list cannot be sorted that way; showing the usual order.",
        "The sort direction can only be ascending or descending.",
        "That product type is not known; showing all types.",
        "That connection is not known; showing all connections.",
    ):
        assert note in html
    assert 'name="sort" value="name"' in html
    assert len(skus_in(html)) == 25


def test_good_list_queries_carry_no_notes(merchant_client, sandbox):
    html = merchant_client.get("/products/?page=2&size=10&sort=sku&dir=desc").content.decode()
    assert 'class="notice notice-warning"' not in html


def test_template_comments_never_show_on_the_list_pages(merchant_client, sandbox):
    for path in ("/products/", "/orders/"):
        html = merchant_client.get(path).content.decode()
        assert "{#" not in html and "#}" not in html and "{%" not in html


@pytest.mark.parametrize("path", ["/products/", "/orders/"])
def test_the_page_size_asked_for_stays_selected_when_connex_is_down(merchant_client, sandbox, path):
    with faults.injected("503=1", account=DEMO_ACCOUNT):
        response = merchant_client.get(path, {"size": "50", "q": "nothing-known"})
    html = response.content.decode()
    assert response.status_code == 503
    assert re.search(r'<option value="50"\s*selected>', html)
    assert not re.search(r'<option value="(10|25|100)"\s*selected>', html)


def test_query_forms_share_their_fields_and_one_querys_errors_never_reach_the_next():
    from connexportal.portal.forms import OrderQueryForm, ProductQueryForm

    for form_class in (ProductQueryForm, OrderQueryForm):
        first, second = form_class({"page": "x", "size": "7", "dir": "up"}), form_class({})
        assert first.fields["size"] is second.fields["size"]  # no per-instance copy (forms._SharedFields)
        assert len(first.notes()) == 3
        assert second.is_valid() and second.notes() == []
        assert (second.cleaned_data["page"], second.cleaned_data["size"]) == (1, 25)
        assert form_class.base_fields["size"].choices == [(n, n) for n in (10, 25, 50, 100)]

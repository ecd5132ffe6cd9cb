"""The parts of the products and orders pages around their rows (portal/templatetags/portal.py)."""

from __future__ import annotations

import re

from django.template import Context, RequestContext, Template
from django.test import RequestFactory
from django.utils import translation

from connexportal.portal.services import Page

SORTS = {"name": "Name", "sku": "<SKU>"}


def render(source: str, query: str = "", **context) -> str:
    request = RequestFactory().get("/products/" + query)
    with translation.override("en"):
        return Template("{% load portal %}" + source).render(RequestContext(request, context))


def links(html: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', html)


def test_a_sort_header_sorts_ascending_first_and_the_current_one_reverses():
    html = render(
        "{% sort_headers sorts sort dir %}", "?q=bag&page=3&sort=name&dir=asc", sorts=SORTS, sort="name", dir="asc"
    )
    assert links(html) == ["?q=bag&amp;sort=name&amp;dir=desc", "?q=bag&amp;sort=sku&amp;dir=asc"]
    assert '<th scope="col" aria-sort="ascending">' in html and html.count("aria-sort") == 1
    assert '<span aria-hidden="true"> ▲</span>' in html
    assert "&lt;SKU&gt;" in html and "<SKU>" not in html
    assert html.count('hx-target="#results"') == 2


def test_a_descending_column_says_so_and_its_link_sorts_ascending():
    html = render("{% sort_headers sorts sort dir %}", sorts=SORTS, sort="sku", dir="desc")
    assert 'aria-sort="descending"' in html and " ▼" in html
    assert links(html)[1] == "?sort=sku&amp;dir=asc"


def test_the_pager_counts_rows_and_links_the_neighbouring_pages_keeping_the_query():
    page = Page(rows=list(range(10)), page=2, size=10, total=25, pages=3)
    html = render("{% pager page %}", '?q="x"&page=2', page=page)
    assert "11\u201320 of 25" in html and "Page 2 of 3" in html
    assert links(html) == ["?q=%22x%22&amp;page=1", "?q=%22x%22&amp;page=3"]
    assert 'rel="prev"' in html and 'rel="next"' in html


def test_the_pager_of_a_single_page_links_nowhere():
    html = render("{% pager page %}", page=Page(rows=[1], page=1, size=10, total=1, pages=1))
    assert "1\u20131 of 1" in html and links(html) == []


def test_select_options_marks_the_chosen_value_and_escapes_labels():
    choices = [("", "ignored"), ("1", "<Amazon>"), (2, "eBay")]
    html = Template("{% load portal %}{% select_options choices chosen empty_label='All' %}").render(
        Context({"choices": choices, "chosen": 2})
    )
    assert html == (
        '<option value="">All</option><option value="1">&lt;Amazon&gt;</option><option value="2" selected>eBay</option>'
    )


def test_select_options_takes_bare_values_and_no_choice():
    html = Template("{% load portal %}{% select_options sizes None %}").render(Context({"sizes": [10, 25]}))
    assert html == '<option value="10">10</option><option value="25">25</option>'


def card(**changes) -> str:
    import datetime as dt
    from types import SimpleNamespace

    connection = SimpleNamespace(
        id=7,
        name='<b>"Shop"</b>',
        channel="Shopify",
        slug="shopify",
        health=("ok", "Healthy"),
        last_sync_at=None,
        next_run_at=None,
        order_window=(dt.datetime(2026, 11, 1, 6, 0, tzinfo=dt.UTC), dt.datetime(2026, 11, 2, 6, 0, tzinfo=dt.UTC)),
        summary_label="Individual sales",
        latest_run=None,
        needs_pairing=False,
    )
    for name, value in changes.items():
        setattr(connection, name, value)
    with translation.override("en"):
        return Template("{% load portal %}{% connection_card connection 'UTC' %}").render(
            Context({"connection": connection})
        )


def test_a_connection_card_links_its_settings_and_escapes_the_name():
    html = card()
    assert html.count('href="/connections/7/settings/"') == 2
    assert "&lt;b&gt;&quot;Shop&quot;&lt;/b&gt;" in html and "<b>" not in html
    assert '<span class="channel-icon channel-shopify" aria-hidden="true">S</span>' in html
    assert '<span class="badge badge-ok">Healthy</span>' in html
    assert "<dt>Last sync</dt><dd>Never</dd>" in html and "<dd>Not scheduled</dd>" in html
    assert "Nov 1, 2026, 6:00\N{NARROW NO-BREAK SPACE}AM \N{EN DASH} Nov 2, 2026" in html
    assert "notice" not in html


def test_a_connection_card_says_what_went_wrong_and_what_to_do():
    from types import SimpleNamespace

    failed = SimpleNamespace(status="Failed", message="<script>x</script>")
    html = card(latest_run=failed, needs_pairing=True, order_window=(None, None))
    assert '<p class="notice notice-error"><span class="connex-words">' in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>" not in html
    assert "Needs attention: Shopify must be paired again before it can sync." in html
    assert '<a href="/connections/7/pair/">Pair again</a>' in html
    assert "<dd>Not set</dd>" in html
    assert "The last sync failed." in card(latest_run=SimpleNamespace(status="failed", message=""))

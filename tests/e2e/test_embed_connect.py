"""Connecting the Connex account inside the partner's page: header-authenticated htmx, no cookies."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.e2e.browser import NARROW_WIDTH
from tests.e2e.test_embed import (  # noqa: F401 (fixtures)
    Embedding,
    Traffic,
    context,
    embedding,
    open_host,
    portal_frame,
    session_token,
    strip_set_cookie,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("width", [1280, NARROW_WIDTH])
def test_a_merchant_without_an_account_connects_it_inside_the_partners_page(
    context: BrowserContext,  # noqa: F811
    embedding: Embedding,  # noqa: F811
    width: int,
):
    from connexportal.accounts.models import ConnexAccount, Merchant
    from connexportal.core.management.commands.seed_demo import DEMO_MERCHANTS

    spec = DEMO_MERCHANTS[0]
    merchant = Merchant.objects.get(external_id=spec["external_id"])
    ConnexAccount.objects.filter(merchant=merchant).delete()
    merchant.partner.service_name = "SyncHub"
    merchant.partner.save()
    # As Safari does: no cookie ever reaches the portal, so only the header can carry the session.
    context.route(f"{embedding.portal_url}/**", strip_set_cookie(embedding))
    traffic = Traffic.watch(context)
    page, console = open_host(context, embedding)
    page.set_viewport_size({"width": width, "height": 900})
    frame = portal_frame(page)
    expect(frame.get_by_role("heading", level=1)).to_have_text("Connect your SyncHub account")
    token = session_token(page)
    expect(frame.locator("main")).not_to_contain_text("Connex")
    frame.get_by_label("Username").fill(spec["connex"][0])
    frame.get_by_label("Password").fill("wrong")
    frame.get_by_role("button", name="Connect").click()
    expect(frame.get_by_role("alert")).to_contain_text("SyncHub did not accept this username and password")
    assert not ConnexAccount.objects.filter(merchant=merchant).exists()

    frame.get_by_label("Password").fill(spec["connex"][1])
    frame.get_by_role("button", name="Connect").click()
    expect(frame.get_by_text("Connected to SyncHub.")).to_be_visible()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Connections")
    expect(frame.get_by_role("link", name=embedding.connection.name, exact=True)).to_be_visible()
    assert ConnexAccount.objects.get(merchant=merchant).verified_at is not None
    assert frame.locator("html").evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")

    assert context.cookies(embedding.portal_url) == []
    traffic.assert_no_session_token(token)
    posts = [request for request in traffic.requests if request.method == "POST" and "/connect/" in request.url]
    assert len(posts) == 2 and all(request.all_headers().get("x-connex-embed") for request in posts)
    # Chromium logs every 4xx answer, so also the 422 that carries the refused login; nothing else may show.
    assert [error for error in console.errors if "status of 422" not in error] == []
    assert console.csp_violations == []

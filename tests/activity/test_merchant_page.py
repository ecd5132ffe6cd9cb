"""/activity/: the merchant's own entries, who did them, old -> new, in the merchant's time zone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection as db

from connexportal.accounts.models import Merchant, User
from connexportal.activity.models import ActivityEntry
from connexportal.activity.services import MASK, Actor, activity_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchants(sandbox):
    return (
        User.objects.get(email="merchant@demo.test").merchant,
        User.objects.get(email="other@demo.test").merchant,
    )


def backdate(entry: ActivityEntry, when: dt.datetime) -> None:
    # In SQL: the ORM refuses to change an entry, which is the point.
    with db.cursor() as cursor:
        cursor.execute(f"UPDATE {ActivityEntry._meta.db_table} SET created_at = %s WHERE id = %s", [when, entry.pk])


def test_the_page_lists_only_this_merchants_changes(merchant_client, merchants):
    mine, theirs = merchants
    staff = User.objects.create_user("ops@connex.test", "pw", is_staff=True)
    request_actor = Actor(kind="staff", label=staff.email, channel="admin", user=staff)
    entry = activity_record(
        action="merchant.changed",
        actor=request_actor,
        merchant=mine,
        target=mine.external_id,
        changes={"currency": ("USD", "CAD"), "is_active": (False, True), "SolutionPassword": ("a", "b")},
    )
    backdate(entry, dt.datetime(2026, 1, 15, 12, 30, tzinfo=dt.UTC))
    activity_record(action="merchant.changed", actor=Actor.system(), merchant=theirs, target="THEIRS-MARKER")
    activity_record(action="login.failed", actor=Actor.system(), merchant=mine, target="LOGIN-MARKER")

    response = merchant_client.get("/activity/")

    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["page"].total == 1
    assert "Merchant changed" in html
    assert "ops@connex.test" in html
    assert "<code>currency</code>: USD → CAD" in html
    assert "<code>is_active</code>: no → yes" in html
    assert f"<code>SolutionPassword</code>: {MASK} → {MASK}" in html
    # America/New_York, as the demo merchant's zone: 12:30 UTC is 07:30 there in January.
    assert mine.timezone == "America/New_York"
    assert ">Jan 15, 2026, 7:30\N{NARROW NO-BREAK SPACE}AM</time>" in html
    assert "THEIRS-MARKER" not in html
    assert "LOGIN-MARKER" not in html
    assert 'href="/activity/" aria-current="page"' in html


def test_the_page_is_paged_and_an_htmx_pager_click_gets_the_results_only(merchant_client, merchants):
    mine, _theirs = merchants
    for number in range(30):
        activity_record(action="run_now.started", actor=Actor.system(), merchant=mine, target=f"run {number:02d}")

    first = merchant_client.get("/activity/")
    second = merchant_client.get("/activity/?page=2", headers={"HX-Request": "true", "HX-Target": "results"})
    beyond = merchant_client.get("/activity/?page=99")
    nonsense = merchant_client.get("/activity/?page=x")

    assert first.context["page"].total == 30
    assert [row.target for row in first.context["page"].rows][:2] == ["run 29", "run 28"]
    assert len(first.context["page"].rows) == 25
    assert 'rel="next"' in first.content.decode()
    body = second.content.decode()
    assert [row.target for row in second.context["page"].rows] == [f"run {n:02d}" for n in range(4, -1, -1)]
    assert body.lstrip().startswith('<section id="results"')
    assert "<h1>" not in body
    assert beyond.context["page"].page == 2
    assert nonsense.context["page"].page == 1


def test_an_empty_trail_says_so(merchant_client, merchants):
    response = merchant_client.get("/activity/")
    assert "No activity yet" in response.content.decode()


def test_a_user_without_a_merchant_or_login_gets_no_trail(client, merchants):
    assert client.get("/activity/").status_code == 302
    User.objects.create_user("nobody@demo.test", "pw")
    client.force_login(User.objects.get(email="nobody@demo.test"))
    assert client.get("/activity/").status_code == 403
    assert Merchant.objects.count() >= 2

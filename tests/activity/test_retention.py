"""Retention: pruning deletes what is past its time and nothing else; the daily task keeps itself going."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from connexportal.accounts.models import Merchant, Partner
from connexportal.activity import tasks
from connexportal.activity.models import ActivityEntry
from connexportal.activity.retention import retention_prune
from connexportal.activity.services import Actor, activity_record
from connexportal.config import ConfigError, load_config
from connexportal.embed.models import EmbedLaunch, EmbedSession, NavigationTicket
from connexportal.webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def merchant():
    partner = Partner.objects.create(name="P")
    return Merchant.objects.create(partner=partner, name="M", external_id="m")


def entry_at(merchant, when: dt.datetime, target: str) -> ActivityEntry:
    entry = activity_record(action="run_now.started", actor=Actor.system(), merchant=merchant, target=target)
    # In SQL: the ORM refuses to change an entry.
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {ActivityEntry._meta.db_table} SET created_at = %s WHERE id = %s", [when, entry.pk])
    return entry


def launch(merchant, token: str, *, expires_at: dt.datetime, used_at=None) -> EmbedLaunch:
    return EmbedLaunch.objects.create(
        token_hash=token,
        partner=merchant.partner,
        merchant=merchant,
        created_at=expires_at - dt.timedelta(minutes=10),
        expires_at=expires_at,
        used_at=used_at,
    )


def session(merchant, token: str, *, started: dt.datetime, expires_at: dt.datetime, revoked_at=None) -> EmbedSession:
    # A launch is used within minutes of being minted, so it has expired soon after its session began.
    return EmbedSession.objects.create(
        token_hash=token,
        launch=launch(merchant, "launch-" + token, expires_at=started, used_at=started),
        partner=merchant.partner,
        merchant=merchant,
        expires_at=expires_at,
        revoked_at=revoked_at,
    )


def test_activity_and_webhook_rows_past_the_retention_go_and_the_rest_stay(merchant, settings):
    settings.ACTIVITY_RETENTION_DAYS = 30
    old = entry_at(merchant, NOW - dt.timedelta(days=31), "old")
    kept = entry_at(merchant, NOW - dt.timedelta(days=29), "kept")
    WebhookEvent.objects.create(
        type="sync_started", merchant=merchant, partner=merchant.partner, payload={}, created_at=NOW - dt.timedelta(31)
    )
    recent_event = WebhookEvent.objects.create(
        type="sync_started", merchant=merchant, partner=merchant.partner, payload={}, created_at=NOW - dt.timedelta(1)
    )

    counts = retention_prune(now=NOW)

    assert counts["activity"] == 1
    assert counts["webhook_events"] == 1
    assert list(ActivityEntry.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not ActivityEntry.objects.filter(pk=old.pk).exists()
    assert list(WebhookEvent.objects.all()) == [recent_event]


def test_spent_embedding_rows_go_a_day_after_and_live_ones_stay(merchant):
    day = dt.timedelta(days=1)
    expired_launch = launch(merchant, "expired", expires_at=NOW - 2 * day)
    fresh_launch = launch(merchant, "fresh", expires_at=NOW - dt.timedelta(hours=2))
    hour = dt.timedelta(hours=1)
    expired_session = session(merchant, "s-expired", started=NOW - 3 * day, expires_at=NOW - 2 * day)
    revoked_session = session(
        merchant, "s-revoked", started=NOW - 3 * day, expires_at=NOW + day, revoked_at=NOW - 2 * day
    )
    live_session = session(merchant, "s-live", started=NOW - 2 * day, expires_at=NOW + day)
    just_revoked = session(
        merchant, "s-just-revoked", started=NOW - 2 * hour, expires_at=NOW + day, revoked_at=NOW - hour
    )
    old_ticket = NavigationTicket.objects.create(
        token_hash="t-old", session=live_session, sealed_session_token="x", expires_at=NOW - 2 * day
    )
    live_ticket = NavigationTicket.objects.create(
        token_hash="t-live", session=live_session, sealed_session_token="x", expires_at=NOW + dt.timedelta(minutes=1)
    )

    counts = retention_prune(now=NOW)

    assert set(EmbedSession.objects.all()) == {live_session, just_revoked}
    assert not EmbedSession.objects.filter(pk__in=[expired_session.pk, revoked_session.pk]).exists()
    # The launches of live sessions stay with them; the lone expired one goes, the recent one stays.
    assert set(EmbedLaunch.objects.all()) == {fresh_launch, live_session.launch, just_revoked.launch}
    assert not EmbedLaunch.objects.filter(pk=expired_launch.pk).exists()
    assert list(NavigationTicket.objects.all()) == [live_ticket]
    assert not NavigationTicket.objects.filter(pk=old_ticket.pk).exists()
    assert (counts["embed_sessions"], counts["embed_launches"], counts["navigation_tickets"]) == (2, 3, 1)


def test_expired_login_sessions_go(merchant):
    Session.objects.create(session_key="gone", session_data="", expire_date=timezone.now() - dt.timedelta(1))
    Session.objects.create(session_key="kept", session_data="", expire_date=timezone.now() + dt.timedelta(1))
    retention_prune()
    assert list(Session.objects.values_list("session_key", flat=True)) == ["kept"]


def test_the_command_prunes_now_and_says_what_went(merchant, settings):
    settings.ACTIVITY_RETENTION_DAYS = 7
    entry_at(merchant, timezone.now() - dt.timedelta(days=8), "old")
    out = io.StringIO()
    call_command("prune_activity", stdout=out)
    assert "retention 7 days" in out.getvalue()
    assert "activity: 1" in out.getvalue()
    assert not ActivityEntry.objects.exists()


def test_the_daily_task_prunes_and_queues_its_next_run(merchant, settings):
    settings.ACTIVITY_RETENTION_DAYS = 7
    entry_at(merchant, timezone.now() - dt.timedelta(days=8), "old")

    counts = tasks.prune_daily.call()

    assert counts["activity"] == 1
    queued = DBTaskResult.objects.get(task_path=tasks.prune_daily.module_path)
    assert queued.status == TaskResultStatus.READY
    assert queued.run_after > timezone.now() + dt.timedelta(hours=23)


def test_scheduling_is_idempotent(merchant):
    out = io.StringIO()
    call_command("prune_activity", "--schedule", stdout=out)
    call_command("prune_activity", "--schedule", stdout=out)
    assert out.getvalue().splitlines() == ["Daily pruning queued.", "Daily pruning is already scheduled."]
    assert DBTaskResult.objects.filter(task_path=tasks.prune_daily.module_path).count() == 1


@pytest.mark.parametrize("value", ["0", "3651", "a year"])
def test_the_retention_setting_is_validated(value):
    with pytest.raises(ConfigError, match=r"^ACTIVITY_RETENTION_DAYS: "):
        load_config({"DEBUG": "true", "ACTIVITY_RETENTION_DAYS": value})
    assert load_config({"DEBUG": "true"}).ACTIVITY_RETENTION_DAYS == 365

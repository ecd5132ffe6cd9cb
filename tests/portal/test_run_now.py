import pytest

from connexportal.sandbox import faults
from tests.portal.conftest import DEMO_ACCOUNT, sandbox_connections

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(sandbox):
    # Task type 0 is the orders download (routes.TASK_TYPES).
    return next(c for c in sandbox_connections(DEMO_ACCOUNT) if c.scheduled_tasks.filter(task_type=0).exists())


def runs_of(connection):
    from connexportal.sandbox.models import TaskRun

    return TaskRun.objects.filter(task__connection=connection).order_by("-id")


def test_run_now_starts_a_run_and_the_status_follows_it(merchant_client, connection, sandbox, settings):
    settings.CONNEX_SANDBOX_RUN_QUEUED_SECONDS = 3600
    merchant_client.get(f"/connections/{connection.id}/settings/")
    runs_before = runs_of(connection).count()
    response = merchant_client.post(
        f"/connections/{connection.id}/run-now/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="run-panel"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert runs_of(connection).count() == runs_before + 1
    assert runs_of(connection).first().status == "Queued"
    assert "Sync started" in html
    assert "Waiting to start…" in html
    assert "orders downloaded" not in html
    assert 'hx-trigger="every 2s"' in html
    assert "connex:sync_started" in response["HX-Trigger"]

    settings.CONNEX_SANDBOX_RUN_QUEUED_SECONDS = 0
    response = merchant_client.get(f"/connections/{connection.id}/runs/?watch=1", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    run = runs_of(connection).first()
    assert run.status in ("Completed", "Failed")
    assert f"Last sync: {run.status}" in html
    assert 'hx-trigger="every 2s"' not in html
    expected_event = "connex:sync_finished" if run.status == "Completed" else "connex:sync_failed"
    assert expected_event in response["HX-Trigger"]
    assert f"{run.orders_downloaded} order" in html


def test_run_now_has_a_cooldown_visible_before_clicking(merchant_client, connection):
    first = merchant_client.post(f"/connections/{connection.id}/run-now/")
    assert first.status_code == 302
    runs = runs_of(connection).count()
    second = merchant_client.post(f"/connections/{connection.id}/run-now/", follow=True)
    html = second.content.decode()
    assert runs_of(connection).count() == runs
    assert "Run now is available again in" in html
    page = merchant_client.get(f"/connections/{connection.id}/settings/").content.decode()
    assert "Available again in" in page
    assert 'disabled aria-describedby="run-now-why"' in page
    assert "data-countdown=" in page


def test_failed_run_now_does_not_start_the_cooldown(merchant_client, connection):
    merchant_client.get(f"/connections/{connection.id}/settings/")
    with faults.injected("503=1", account=DEMO_ACCOUNT):
        response = merchant_client.post(f"/connections/{connection.id}/run-now/", follow=True)
    assert "Connex is not answering right now, so we could not start a sync" in response.content.decode()
    response = merchant_client.post(f"/connections/{connection.id}/run-now/", follow=True)
    assert "Sync started" in response.content.decode()


def test_run_now_is_post_only(merchant_client, connection):
    assert merchant_client.get(f"/connections/{connection.id}/run-now/").status_code == 405


def test_run_now_requires_csrf(sandbox, connection):
    from django.test import Client

    from connexportal.accounts.models import User

    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.get(email="merchant@demo.test"))
    assert client.post(f"/connections/{connection.id}/run-now/").status_code == 403


def test_a_finished_run_stays_finished_when_connex_then_fails(merchant_client, connection, settings):
    """The last known list a failed poll falls back on is the latest one seen, not the one
    stored when the run was queued (the list is stored again whenever it changes)."""
    settings.CONNEX_SANDBOX_RUN_QUEUED_SECONDS = 3600
    merchant_client.get(f"/connections/{connection.id}/settings/")
    merchant_client.post(f"/connections/{connection.id}/run-now/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="run-panel")
    assert "Waiting to start…" in merchant_client.get(f"/connections/{connection.id}/runs/?watch=1").content.decode()
    settings.CONNEX_SANDBOX_RUN_QUEUED_SECONDS = 0
    finished = merchant_client.get(f"/connections/{connection.id}/runs/?watch=1").content.decode()
    assert "Waiting to start…" not in finished and "Last sync:" in finished

    with faults.injected("503=1", account=DEMO_ACCOUNT):
        html = merchant_client.get(f"/connections/{connection.id}/runs/", HTTP_HX_REQUEST="true").content.decode()

    assert "Waiting to start…" not in html
    assert 'hx-trigger="every 2s"' not in html

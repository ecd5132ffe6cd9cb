"""The settings page's parts built in Python (templatetags/portal_settings.py): the markup the
template wrote before, every value escaped, in the reader's language."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.utils import translation

from connexportal.connex import routes
from connexportal.portal import forms
from connexportal.portal.forms import SyncSettingsForm
from connexportal.portal.services import RunView
from connexportal.portal.templatetags.portal_settings import (
    _Moments,
    connection_status,
    run_history_rows,
    run_words,
    select_field,
    window_rows,
)
from connexportal.portal.templatetags.portal_time import moment
from tests.portal.conftest import DEMO_ACCOUNT, sandbox_connections

NOW = dt.datetime(2026, 3, 10, 14, 7, tzinfo=dt.UTC)
ZONE = "America/New_York"
CURRENT = {
    "LastDownloadUtc": "2026-03-01T06:30:00",
    "LastDownloadUtcEnd": "2026-03-02T06:30:00",
    "LastProductDownloadUtc": "2026-02-01T00:00:00",
    "LastProductDownloadUtcEnd": "2026-02-02T00:00:00",
    "SummaryTransactionGroupBy": "2",
}
HOSTILE = "<script>alert(\"x\")</script> & 'co'"
HOSTILE_ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;co&#x27;"


@pytest.fixture(autouse=True)
def _english_at_a_fixed_time():
    with translation.override("en"), time_machine.travel(NOW, tick=False):
        yield


def settings_form(data=None, current=None):
    return SyncSettingsForm(data, current=CURRENT if current is None else current, zone=ZONE)


def posted(**changes):
    data = {
        name: forms.UTCDateTimeField().prepare_value(forms.parse_connex_timestamp(CURRENT.get(name)))
        for start_end in routes.WINDOW_SETTINGS
        for name in start_end
    }
    data = {name: value or "" for name, value in data.items()}
    data["SummaryTransactionGroupBy"] = CURRENT["SummaryTransactionGroupBy"]
    data.update(changes)
    form = settings_form(data)
    form.is_valid()
    return form


def windows(markup: str) -> dict[str, str]:
    """Each window's fieldset, by the name of its start field."""
    parts = markup.split('<fieldset class="window" data-window>')
    assert parts[0] == ""
    return {re.search(r'name="(\w+)Preset"', part).group(1): part for part in parts[1:]}


def field_markup(markup: str, name: str) -> str:
    found = re.search(rf'<div class="field[^"]*">\s*<label for="id_{name}">.*?</div>', markup, re.DOTALL)
    assert found, name
    return found.group(0)


def checked_presets(window: str) -> list[str]:
    return re.findall(r'<input type="radio" name="\w+" value="(\w+)" checked', window)


# --- Window rows ---------------------------------------------------------------------------


def test_each_window_has_its_fields_presets_and_help():
    markup = window_rows(settings_form(), 7, ZONE)
    rows = windows(markup)
    assert list(rows) == [start for start, _end in routes.WINDOW_SETTINGS]
    order = rows["LastDownloadUtc"]
    assert "<legend>Order download</legend>" in order
    assert '<legend class="visually-hidden">Quick choice: Order download</legend>' in order
    assert '<p class="help">Orders placed in this window are downloaded from the channel.</p>' in order
    start = field_markup(order, "LastDownloadUtc")
    assert '<div class="field">' in start
    assert '<label for="id_LastDownloadUtc">Order download from (UTC)</label>' in start
    assert (
        '<input type="datetime-local" step="60" name="LastDownloadUtc" id="id_LastDownloadUtc"'
        ' value="2026-03-01T06:30" required>'
    ) in start
    # 06:30 UTC is 01:30 in New York; the browser rewrites the hint from data-template as the user types.
    assert (
        '<span class="local-time muted" data-local-for="id_LastDownloadUtc" data-zone="America/New_York"'
        ' data-template="{local} your time">Mar 1, 2026, 1:30\N{NARROW NO-BREAK SPACE}AM your time</span>'
    ) in start
    assert "aria-invalid" not in markup and 'class="error"' not in markup


def test_an_empty_window_is_not_required_and_shows_no_local_time():
    upload = windows(window_rows(settings_form(), 7, ZONE))["LastProductUploadUtc"]
    start = field_markup(upload, "LastProductUploadUtc")
    assert 'value="">' in start
    assert "required" not in start
    assert 'data-template="{local} your time"></span>' in start


def test_presets_fill_in_whole_days_of_the_merchants_calendar():
    order = windows(window_rows(settings_form(), 7, ZONE))["LastDownloadUtc"]
    # 10 March 14:07 UTC is 10 March in New York (UTC-4 after 8 March): yesterday is 9 March, from its midnight.
    assert (
        '<label class="preset"><input type="radio" name="LastDownloadUtcPreset" value="yesterday"'
        ' data-start="2026-03-09T04:00" data-end="2026-03-10T04:00">Yesterday</label>'
    ) in order
    assert (
        '<label class="preset"><input type="radio" name="LastDownloadUtcPreset" value="custom" checked>Custom</label>'
    ) in order


def test_the_chosen_preset_is_checked_in_its_window_only():
    form = posted(LastProductDownloadUtcPreset="last_7_days", LastDownloadUtcPreset="bogus")
    rows = windows(window_rows(form, 7, ZONE))
    assert checked_presets(rows["LastProductDownloadUtc"]) == ["last_7_days"]
    assert checked_presets(rows["LastDownloadUtc"]) == ["custom"]
    assert checked_presets(rows["LastProductUploadUtc"]) == ["custom"]
    # The preset filled in the window's fields, as the page shows them.
    assert 'value="2026-03-04T05:00"' in field_markup(rows["LastProductDownloadUtc"], "LastProductDownloadUtc")


def test_a_field_in_error_says_so_and_keeps_what_was_typed():
    form = posted(LastDownloadUtc="yesterday", LastDownloadUtcEnd="2026-03-02T06:30")
    rows = windows(window_rows(form, 7, ZONE))
    wrong = field_markup(rows["LastDownloadUtc"], "LastDownloadUtc")
    assert wrong.startswith('<div class="field has-error">')
    assert 'value="yesterday" required aria-invalid="true" aria-describedby="id_LastDownloadUtc_error">' in wrong
    assert (
        '<p class="error" id="id_LastDownloadUtc_error">Enter a date and time as YYYY-MM-DD HH:MM (UTC).</p>'
    ) in wrong
    # What was typed is no moment: no local time beside it.
    assert 'data-template="{local} your time"></span>' in wrong
    right = field_markup(rows["LastDownloadUtc"], "LastDownloadUtcEnd")
    assert right.startswith('<div class="field">')
    assert "aria-invalid" not in right and "error" not in right
    assert "Mar 2, 2026, 1:30\N{NARROW NO-BREAK SPACE}AM your time" in right


def test_the_window_preview_is_only_beside_the_order_download():
    markup = window_rows(settings_form(), 7, ZONE)
    assert markup.count('id="window-preview-slot"') == 1
    assert markup.count('id="window-preview"') == 1
    rows = windows(markup)
    assert 'hx-get="/connections/7/settings/preview/"' in rows["LastDownloadUtc"]
    assert 'hx-include="#id_LastDownloadUtc, #id_LastDownloadUtcEnd"' in rows["LastDownloadUtc"]
    assert "Checking the window…" in rows["LastDownloadUtc"]
    for name in ("LastProductDownloadUtc", "LastProductUploadUtc"):
        assert "window-preview" not in rows[name]


def test_window_rows_escape_hostile_labels_values_and_zones(monkeypatch):
    monkeypatch.setitem(forms.WINDOW_PRESETS, "yesterday", (HOSTILE, -1, 0))
    monkeypatch.setitem(forms.WINDOW_LABELS, "LastDownloadUtc", (HOSTILE, HOSTILE, HOSTILE, HOSTILE))
    form = posted(LastDownloadUtc=HOSTILE)
    markup = window_rows(form, 7, 'UTC" onclick="alert(1)')
    assert "<script>" not in markup
    assert 'onclick="' not in markup
    order = windows(markup)["LastDownloadUtc"]
    assert f"<legend>{HOSTILE_ESCAPED}</legend>" in order
    assert f"Quick choice: {HOSTILE_ESCAPED}</legend>" in order
    assert f'data-start="2026-03-09T04:00" data-end="2026-03-10T04:00">{HOSTILE_ESCAPED}</label>' in order
    assert f'<label for="id_LastDownloadUtc">{HOSTILE_ESCAPED}</label>' in order
    assert f'value="{HOSTILE_ESCAPED}" required aria-invalid="true"' in order
    assert f'<p class="help">{HOSTILE_ESCAPED}</p>' in order
    assert 'data-zone="UTC&quot; onclick=&quot;alert(1)"' in order


def test_window_rows_speak_the_readers_language():
    with translation.override("fr"):
        order = windows(window_rows(settings_form(), 7, ZONE))["LastDownloadUtc"]
    assert "Choix rapide\N{NO-BREAK SPACE}: Téléchargement des commandes</legend>" in order
    assert 'data-template="{local}, votre heure locale"' in order
    assert ">1 mars 2026, 01:30, votre heure locale</span>" in order
    assert ">Hier</label>" in order


# --- The summary select --------------------------------------------------------------------


@pytest.mark.parametrize(
    "form",
    [
        pytest.param(lambda: settings_form(), id="current value"),
        pytest.param(lambda: settings_form(current={}), id="not set"),
        pytest.param(lambda: settings_form(current={"SummaryTransactionGroupBy": "9"}), id="unknown value"),
        pytest.param(lambda: posted(SummaryTransactionGroupBy="4"), id="posted"),
        pytest.param(lambda: posted(SummaryTransactionGroupBy='"><b>'), id="posted, invalid"),
    ],
)
def test_the_select_is_what_djangos_widget_writes(form):
    field = form()["SummaryTransactionGroupBy"]
    assert select_field(field) == field.as_widget()


def test_the_select_shows_the_current_value_selected():
    markup = select_field(settings_form()["SummaryTransactionGroupBy"])
    assert markup.startswith(
        '<select name="SummaryTransactionGroupBy" aria-describedby="id_SummaryTransactionGroupBy_helptext"'
        ' id="id_SummaryTransactionGroupBy">'
    )
    assert re.findall(r'<option value="(\d)" selected>', markup) == ["2"]
    assert '<option value="2" selected>Summary by payment method</option>' in markup


def test_the_select_keeps_a_value_this_portal_does_not_know():
    markup = select_field(settings_form(current={"SummaryTransactionGroupBy": "9"})["SummaryTransactionGroupBy"])
    assert '<option value="9" selected>Current setting (9), not known to this portal</option>' in markup
    assert markup.count(" selected") == 1


def test_a_select_in_error_is_marked_invalid_and_escapes_what_was_sent():
    form = posted(SummaryTransactionGroupBy='"><b>')
    markup = select_field(form["SummaryTransactionGroupBy"])
    assert (
        '<select name="SummaryTransactionGroupBy" aria-invalid="true"'
        ' aria-describedby="id_SummaryTransactionGroupBy_helptext id_SummaryTransactionGroupBy_error"'
    ) in markup
    assert " selected" not in markup
    assert "<b>" not in markup


# --- Sync history ------------------------------------------------------------------------


def run(status="Completed", trigger="Schedule", **values):
    queued = values.pop("queued_at", NOW - dt.timedelta(hours=2))
    defaults = {
        "id": 1,
        "status": status,
        "trigger": trigger,
        "queued_at": queued,
        "started_at": queued + dt.timedelta(seconds=30),
        "finished_at": queued + dt.timedelta(minutes=3, seconds=30),
        "orders_downloaded": 12,
        "orders_skipped": 0,
        "message": "",
    }
    return RunView(**(defaults | values))


def test_history_rows_show_each_run():
    finished = run(id=2, orders_downloaded=12)
    running = run(id=3, status="Running", trigger="RunNow", orders_downloaded=5, finished_at=None)
    unknown = run(id=4, orders_downloaded=None)
    rows = run_history_rows([running, finished, unknown], ZONE).split("\n")
    assert len(rows) == 3
    assert '<td data-label="Trigger">Run now</td>' in rows[0]
    assert '<span class="badge badge-running">Running</span>' in rows[0]
    assert '<td data-label="Orders">—</td>' in rows[0]  # not its count while it runs
    assert '<td data-label="Took">—</td>' in rows[0]
    assert '<td data-label="Trigger">Scheduled</td>' in rows[1]
    assert '<span class="badge badge-completed">Completed</span>' in rows[1]
    assert '<td data-label="Orders">12</td>' in rows[1]
    assert '<td data-label="Took">3 min</td>' in rows[1]
    assert '<td data-label="Orders">—</td>' in rows[2]
    assert rows[1].startswith(f'<tr><td data-label="Queued">{moment(finished.queued_at, ZONE)}</td>')
    assert ">2 hours ago</time>" in rows[1]


def test_history_shows_ten_runs_at_most():
    runs = [run(id=n) for n in range(15)]
    assert run_history_rows(runs, ZONE).count("<tr>") == 10


def test_history_rows_escape_what_connex_sends():
    markup = run_history_rows([run(status=HOSTILE, trigger=HOSTILE)], ZONE)
    assert "<script>" not in markup
    assert f'<td data-label="Trigger">{HOSTILE_ESCAPED}</td>' in markup
    assert f">{HOSTILE_ESCAPED}</span></td>" in markup
    assert 'class="badge badge-&lt;script&gt;' in markup


def test_history_speaks_the_readers_language():
    with translation.override("es"):
        markup = run_history_rows([run()], ZONE)
    assert '<td data-label="Duración">3 min</td>' in markup
    assert '<td data-label="Pedidos">12</td>' in markup


@pytest.mark.parametrize("value", [NOW - dt.timedelta(minutes=5), NOW + dt.timedelta(days=3), NOW, None])
@pytest.mark.parametrize("language", ["en", "fr"])
def test_page_moments_are_written_as_the_moment_tag_writes_them(value, language):
    with translation.override(language):
        assert _Moments(ZONE)(value) == moment(value, ZONE)


# --- Connection status and run words -----------------------------------------------------


class Connection:
    def __init__(self, runs, health=("ok", "Healthy"), next_run_at=None):
        self.runs = runs
        self.latest_run = runs[0] if runs else None
        self.health = health
        self.last_sync_at = next((r.finished_at for r in runs if r.status == "Completed"), None)
        self.next_run_at = next_run_at


def test_connection_status_shows_health_last_and_next_sync():
    connection = Connection([run()], health=("error", HOSTILE), next_run_at=NOW + dt.timedelta(hours=1))
    markup = connection_status(connection, ZONE)
    assert f'<span class="badge badge-error">{HOSTILE_ESCAPED}</span>' in markup
    assert "<span>Last sync: <time " in markup and ">1 hour ago</time>" in markup
    assert "<span>Next sync: <time " in markup and ">in 1 hour</time>" in markup


def test_connection_status_of_a_connection_that_never_synced():
    markup = connection_status(Connection([], health=("unknown", "No scheduled sync")), ZONE)
    assert "<span>Last sync: Never</span>" in markup
    assert "<span>Next sync: Not scheduled</span>" in markup


def test_run_words_follow_the_run():
    assert run_words(None, ZONE, "Connex") == "<p>No sync has run yet.</p>"
    queued = run_words(run(status="Queued", started_at=None, finished_at=None), ZONE, "<Acme>")
    assert "<strong>Waiting to start…</strong> &lt;Acme&gt; has queued the sync and starts it shortly.</p>" in queued
    running = run_words(run(status="Running", finished_at=None), ZONE, "Connex")
    assert "<strong>Sync running…</strong> Started <time " in running
    assert ">1 hour ago</time>" in running and running.endswith("</span>.</p>")


@pytest.mark.parametrize(
    ("language", "downloaded", "skipped", "counts"),
    [
        ("en", 1, 0, "1 order downloaded"),
        ("en", 12, 2, "12 orders downloaded, 2 skipped"),
        ("fr", 0, 1, "0 commande téléchargée, 1 ignorée"),
        ("fr", 3, 2, "3 commandes téléchargées, 2 ignorées"),
    ],
)
def test_run_words_count_the_orders_in_the_readers_language(language, downloaded, skipped, counts):
    with translation.override(language):
        words = run_words(run(orders_downloaded=downloaded, orders_skipped=skipped), ZONE, "Connex")
    assert f'<p class="run-counts">{counts}</p>' in words


def test_run_words_of_a_failed_run_quote_connex_escaped():
    words = run_words(run(status="Failed", orders_downloaded=None, message=HOSTILE), ZONE, "Connex")
    assert words.startswith("<p><strong>Last sync: Failed</strong> · <time ")
    assert "run-counts" not in words
    assert '<p class="error"><span class="connex-words">Message from Connex: ' in words
    assert HOSTILE_ESCAPED in words and "<script>" not in words


# --- The whole page ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_page_escapes_a_hostile_connection_name(merchant_client):
    connection = sandbox_connections(DEMO_ACCOUNT)[0]
    type(connection).objects.filter(pk=connection.pk).update(name=HOSTILE)
    html = merchant_client.get(f"/connections/{connection.id}/settings/").content.decode()
    assert "<script>alert" not in html
    assert f"<h1>{HOSTILE_ESCAPED} " in html
    assert html.count('id="window-preview-slot"') == 1
    assert html.count('<fieldset class="window" data-window>') == 3
    assert html.count('<td data-label="Queued">') >= 1

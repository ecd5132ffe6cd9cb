from datetime import timedelta

import pytest

from connexportal.connex import routes
from connexportal.sandbox.models import ConnectionSetting, TaskRun, UserConnection

from .conftest import T0, make_connection, make_task, make_user

LIST = routes.LIST_CONNECTIONS.path
UPDATE = routes.UPDATE_SETTINGS.path
EXAMPLE = routes.LIST_CONNECTIONS_RESPONSE_EXAMPLE[0]


def settings_of(connection) -> dict[str, str]:
    return dict(ConnectionSetting.objects.filter(connection=connection).values_list("name", "value"))


# --- UserConnections/List ----------------------------------------------------------------


def test_list_answers_routes_example_shape_with_runs_newest_first(api, merchant, merchant_token):
    user, connection = merchant
    task = make_task(connection)
    for minutes in range(12):
        queued = T0 + timedelta(minutes=minutes)
        TaskRun.objects.create(
            task=task,
            status="Completed",
            trigger="Schedule",
            queued_utc=queued,
            started_utc=queued + timedelta(seconds=1),
            finished_utc=queued + timedelta(seconds=4),
            orders_downloaded=minutes,
        )
    response = api.get(LIST, token=merchant_token)
    assert response.status_code == 200
    (listed,) = response.json()
    assert list(listed) == list(EXAMPLE)
    assert listed["userConnectionName"] == "Shopify Store"
    assert listed["reportingUserId"] == str(user.reporting_user_id)
    assert list(listed["connectionSettings"][0]) == list(EXAMPLE["connectionSettings"][0])
    assert {s["name"]: s["value"] for s in listed["connectionSettings"]} == settings_of(connection)
    (listed_task,) = listed["scheduledTasks"]
    assert list(listed_task) == list(EXAMPLE["scheduledTasks"][0])
    assert listed_task["taskTypeName"] == "Orders" and listed_task["nextRunUtc"] == "2024-08-29T05:45:00.0000000"
    logs = listed_task["runLogs"]
    assert list(logs[0]) == list(EXAMPLE["scheduledTasks"][0]["runLogs"][0])
    assert [log["ordersDownloaded"] for log in logs] == [11, 10, 9, 8, 7, 6, 5, 4, 3, 2]
    assert logs[0]["queuedUtc"] == "2024-08-28T09:11:00.0000000"


def test_list_shows_only_the_callers_live_connections(api, merchant, merchant_token):
    user, connection = merchant
    retired = make_connection(user, name="Old shop", connection_type=5)
    UserConnection.objects.filter(pk=retired.pk).update(deleted=True)
    make_connection(make_user(), name="Someone else's")
    assert [c["id"] for c in api.get(LIST, token=merchant_token).json()] == [connection.pk]


def test_list_takes_a_fixed_number_of_queries(api, merchant, merchant_token, django_assert_max_num_queries):
    user, _ = merchant
    for index in range(5):
        make_task(make_connection(user, name=f"Shop {index}"))
    # Token, fault profiles, active runs, connections, settings, tasks, recent runs: never one per connection.
    with django_assert_max_num_queries(7):
        assert len(api.get(LIST, token=merchant_token).json()) == 6


# --- Settings/Update -------------------------------------------------------------------


def update(api, token, connection, *pairs, **extra):
    body = {"userConnectionId": connection.pk, "settings": [{"name": n, "value": v} for n, v in pairs], **extra}
    return api.post(UPDATE, body, token=token)


def test_update_changes_only_what_was_sent_and_answers_every_setting(api, merchant, merchant_token):
    _, connection = merchant
    before = settings_of(connection)
    response = update(
        api,
        merchant_token,
        connection,
        ("LastDownloadUtc", "2024-09-01T00:00:00"),
        ("lastdownloadutcend", "2024-09-01T23:59:59"),
    )
    assert response.status_code == 200
    body = response.json()
    assert list(body) == list(routes.UPDATE_SETTINGS_RESPONSE_EXAMPLE)
    assert body["userConnectionId"] == connection.pk
    after = settings_of(connection)
    assert after == {**before, "LastDownloadUtc": "2024-09-01T00:00:00", "LastDownloadUtcEnd": "2024-09-01T23:59:59"}
    assert {s["name"]: s["value"] for s in body["connectionSettings"]} == after
    assert [s["id"] for s in body["connectionSettings"]] == sorted(s["id"] for s in body["connectionSettings"])
    assert UserConnection.objects.get(pk=connection.pk).date_modified > T0


def test_update_stores_unknown_names_as_sent_and_keeps_secrets(api, merchant, merchant_token):
    _, connection = merchant
    response = update(api, merchant_token, connection, ("NewPartnerFlag", "on"), ("Stores", ""))
    assert response.status_code == 200
    after = settings_of(connection)
    assert after["NewPartnerFlag"] == "on" and after["Stores"] == ""
    assert after["SolutionPassword"] == "refresh-token"


def test_update_validates_and_then_writes_nothing(api, merchant, merchant_token):
    _, connection = merchant
    before = settings_of(connection)
    response = update(
        api,
        merchant_token,
        connection,
        ("SolutionUserName", "changed"),
        ("LastDownloadUtc", "2024-08-28T00:00:00"),
        ("LastProductUploadUtc", "not a date"),
        ("SummaryTransactionGroupBy", "7"),
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["Settings[1].Value"] == [
        "LastDownloadUtc (2024-08-28T00:00:00) must not be after LastDownloadUtcEnd (2024-08-27T23:59:59)."
    ]
    assert errors["Settings[2].Value"] == ["'not a date' is not a date and time; use e.g. 2024-09-01T00:00:00 (UTC)."]
    assert "SummaryTransactionGroupBy '7' is not valid" in errors["Settings[3].Value"][0]
    assert settings_of(connection) == before


@pytest.mark.parametrize(
    ("start", "end"),
    [("LastProductDownloadUtc", "LastProductDownloadUtcEnd"), ("LastDownloadUtc", "LastDownloadUtcEnd")],
)
def test_each_window_start_must_not_pass_its_end(api, merchant, merchant_token, start, end):
    _, connection = merchant
    bad = update(api, merchant_token, connection, (start, "2024-09-02T00:00:00"), (end, "09/01/2024"))
    assert bad.status_code == 400
    good = update(api, merchant_token, connection, (start, "2024-09-01T00:00:00"), (end, "2024-09-01T00:00:00"))
    assert good.status_code == 200


@pytest.mark.parametrize("value", [str(number) for number in routes.SUMMARY_GROUP_BY])
def test_every_known_summary_grouping_is_accepted(api, merchant, merchant_token, value):
    _, connection = merchant
    assert update(api, merchant_token, connection, ("SummaryTransactionGroupBy", value)).status_code == 200
    assert settings_of(connection)["SummaryTransactionGroupBy"] == value


@pytest.mark.parametrize(
    ("sent", "key"),
    [
        ([], "Settings"),
        ("Stores=a", "Settings"),
        (["Stores"], "Settings[0]"),
        ([{"name": "Stores", "value": None}], "Settings[0].Value"),
        ([{"value": "x"}], "Settings[0].Name"),
        ([{"name": "Stores", "value": "a"}, {"name": "STORES", "value": "b"}], "Settings[1].Name"),
    ],
)
def test_malformed_updates_are_400(api, merchant, merchant_token, sent, key):
    _, connection = merchant
    response = api.post(UPDATE, {"userConnectionId": connection.pk, "settings": sent}, token=merchant_token)
    assert response.status_code == 400
    assert key in response.json()["errors"]


def test_update_needs_a_connection_id(api, merchant_token):
    response = api.post(UPDATE, {"settings": [{"name": "Stores", "value": ""}]}, token=merchant_token)
    assert response.status_code == 400
    assert response.json()["errors"] == {"UserConnectionId": ["The UserConnectionId field is required."]}


def test_update_refuses_another_users_connection(api, merchant, merchant_token):
    theirs = make_connection(make_user())
    before = settings_of(theirs)
    response = update(api, merchant_token, theirs, ("Stores", "mine now"))
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "UserConnectionId": [f"User connection {theirs.pk} is not one of your connections."]
    }
    assert settings_of(theirs) == before

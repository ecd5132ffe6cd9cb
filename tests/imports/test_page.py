"""The import page: upload, check, start, progress, cancel, result CSV; tenancy."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from connexportal.imports.models import ImportStatus, OrderImport, OrderImportRow, RowFate
from tests.imports.conftest import createorders_calls, csv_bytes, order_rows, run_to_end, sandbox_orders

pytestmark = pytest.mark.django_db


def upload(client, connection_id, content: bytes, *, name="orders.csv", valid_only=False):
    data = {"connection": connection_id, "file": SimpleUploadedFile(name, content)}
    if valid_only:
        data["valid_only"] = "on"
    return client.post("/orders/import/", data)


def test_a_valid_csv_is_imported_in_batches_of_100(merchant_client, sandbox, connection_id, no_settle):
    response = upload(merchant_client, connection_id, csv_bytes(order_rows(250)))
    assert response.status_code == 302
    order_import = OrderImport.objects.get()
    assert response["Location"] == f"/orders/import/{order_import.pk}/"
    assert order_import.status == ImportStatus.QUEUED
    assert createorders_calls(sandbox) == 0, "nothing is sent before the job runs"

    page = merchant_client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 2s"' in page
    assert 'aria-live="polite"' in page

    assert run_to_end(order_import.pk) == ["finished"]
    order_import.refresh_from_db()
    assert (order_import.total, order_import.created, order_import.already_existed, order_import.failed) == (
        250,
        250,
        0,
        0,
    )
    assert order_import.batches == 3
    assert createorders_calls(sandbox) == 3
    assert sandbox_orders().count() == 250
    assert list(OrderImportRow.objects.values_list("batch", flat=True).distinct().order_by("batch")) == [1, 2, 3]

    page = merchant_client.get(response["Location"]).content.decode()
    assert "every 2s" not in page, "polling stops once the import has ended"
    result = merchant_client.get(f"/orders/import/{order_import.pk}/result.csv")
    assert result["Content-Disposition"] == f'attachment; filename="order-import-{order_import.pk}.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(result.streaming_content).decode())))
    assert len(rows) == 250
    assert rows[0] == {"row": "1", "order_number": "IMP-00001", "fate": "created", "reason": ""}


def test_orders_connex_already_has_are_skipped(merchant_client, sandbox, connection_id, no_settle):
    content = csv_bytes(order_rows(30))
    upload(merchant_client, connection_id, content)
    run_to_end(OrderImport.objects.get().pk)
    response = upload(merchant_client, connection_id, csv_bytes(order_rows(40)))
    second = OrderImport.objects.get(pk=response["Location"].split("/")[3])
    calls_before = createorders_calls(sandbox)
    run_to_end(second.pk)
    second.refresh_from_db()
    assert (second.created, second.already_existed, second.failed) == (10, 30, 0)
    assert createorders_calls(sandbox) == calls_before + 1
    assert sandbox_orders().count() == 40


def test_rows_with_problems_are_listed_by_row_and_column_and_nothing_starts(merchant_client, sandbox, connection_id):
    rows = order_rows(5)
    rows[1]["OrderTotal"] = "$12"
    rows[3]["OrderDate"] = "tomorrow"
    rows[3]["CustomerName"] = ""
    rows[4]["OrderNumber"] = "imp-00001 "  # the same order as row 1, to Connex
    response = upload(merchant_client, connection_id, csv_bytes(rows))
    order_import = OrderImport.objects.get()
    assert order_import.status == ImportStatus.DRAFT
    assert (order_import.total, order_import.skipped_invalid) == (5, 3)
    page = merchant_client.get(response["Location"]).content.decode()
    assert "<td>2</td><td>IMP-00002</td><td>OrderTotal</td><td>Must be a number" in page
    assert "<td>4</td><td>IMP-00004</td><td>OrderDate</td>" in page
    assert "<td>4</td><td>IMP-00004</td><td>CustomerName</td>" in page
    assert "<td>5</td><td>imp-00001</td><td>OrderNumber</td><td>Repeated: row 1 has the same order number." in page
    assert "Import the 2 valid rows only" in page
    assert createorders_calls(sandbox) == 0

    merchant_client.post(f"/orders/import/{order_import.pk}/start/")
    order_import.refresh_from_db()
    assert order_import.status == ImportStatus.QUEUED
    run_to_end(order_import.pk)
    order_import.refresh_from_db()
    assert (order_import.created, order_import.skipped_invalid) == (2, 3)
    assert sorted(sandbox_orders().values_list("order_number", flat=True)) == ["IMP-00001", "IMP-00003"]


def test_import_the_valid_rows_only_starts_at_once(merchant_client, sandbox, connection_id, no_settle):
    rows = order_rows(3)
    rows[0]["TotalTax"] = "lots"
    upload(merchant_client, connection_id, csv_bytes(rows), valid_only=True)
    order_import = OrderImport.objects.get()
    assert order_import.status == ImportStatus.QUEUED
    run_to_end(order_import.pk)
    order_import.refresh_from_db()
    assert (order_import.created, order_import.skipped_invalid, order_import.failed) == (2, 1, 0)
    skipped = OrderImportRow.objects.get(fate=RowFate.SKIPPED_INVALID)
    assert (skipped.row_number, skipped.reason) == (
        1,
        "TotalTax: Must be a number, like 12.50 (no currency sign or thousands separator).",
    )


def test_discarding_a_draft_cancels_it(merchant_client, sandbox, connection_id):
    rows = order_rows(2)
    rows[0]["OrderTotal"] = "x"
    upload(merchant_client, connection_id, csv_bytes(rows))
    order_import = OrderImport.objects.get()
    merchant_client.post(f"/orders/import/{order_import.pk}/cancel/")
    order_import.refresh_from_db()
    assert (order_import.status, order_import.cancelled, order_import.skipped_invalid) == ("cancelled", 1, 1)
    assert createorders_calls(sandbox) == 0


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"OrderNumber,Total\n1,2\n", "a.csv", "Unknown column Total."),
        (b"OrderNumber,OrderDate\n1,2\n", "a.csv", "Required columns are missing: CustomerName, OrderTotal, TotalTax."),
        ("OrderNumber\n\xe9".encode("latin-1"), "a.csv", "The file is not UTF-8 text."),
        (b"{not json", "a.json", "The file is not valid JSON."),
        (b'{"items": []}', "a.json", "The JSON must be an array of orders"),
        (b"OrderNumber,OrderDate,CustomerName,OrderTotal,TotalTax\n", "a.csv", "The file holds no orders."),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(merchant_client, sandbox, connection_id, content, name, message):
    response = upload(merchant_client, connection_id, content, name=name)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert OrderImport.objects.count() == 0


def test_limits_on_rows_and_size(merchant_client, sandbox, connection_id, settings, monkeypatch):
    from connexportal.imports import forms, orders

    monkeypatch.setattr(orders, "MAX_ORDERS", 3)
    response = upload(merchant_client, connection_id, csv_bytes(order_rows(4)))
    assert response.status_code == 422
    assert "The file holds more than 3 orders; split it into several files." in response.content.decode()
    monkeypatch.setattr(forms, "MAX_FILE_BYTES", 100)
    response = upload(merchant_client, connection_id, csv_bytes(order_rows(2)))
    assert response.status_code == 422
    assert "the most an import takes is 100" in response.content.decode()
    assert OrderImport.objects.count() == 0


def test_a_json_file_takes_any_key_casing_and_several_lines(merchant_client, sandbox, connection_id, no_settle):
    orders = [
        {
            "ORDERNUMBER": "IMP-J1",
            "order_date": "2026-02-03",
            "customerName": "Ana",
            "OrderTotal": 10,
            "totaltax": 0,
            "ReportingUserId": "not even a guid: the portal fills it",
            "orderDetails": [{"SKU": "A", "quantity": 1}, {"sku": "B", "Quantity": 2}],
        }
    ]
    upload(merchant_client, connection_id, json.dumps({"orders": orders}).encode(), name="orders.json")
    order_import = OrderImport.objects.get()
    assert order_import.source == "json"
    run_to_end(order_import.pk)
    order_import.refresh_from_db()
    assert order_import.created == 1
    assert sandbox_orders("IMP-J").get().lines.count() == 2


def test_the_template_has_every_column_and_passes_the_check(merchant_client, sandbox, connection_id):
    from connexportal.imports import orders

    response = merchant_client.get("/orders/import/template.csv")
    assert response["Content-Disposition"] == 'attachment; filename="order-import-template.csv"'
    content = response.content
    header = content.decode().splitlines()[0].split(",")
    assert header == list(orders.CSV_COLUMNS)
    checked = orders.check_orders(orders.read_csv(content), connection_id=connection_id, flat=True)
    assert (len(checked.valid), len(checked.invalid)) == (1, 0)


def test_another_merchants_connection_and_import_are_not_found(merchant_client, other_client, sandbox, connection_id):
    from tests.portal.conftest import OTHER_ACCOUNT, sandbox_connections

    theirs = sandbox_connections(OTHER_ACCOUNT)[0].id
    response = upload(merchant_client, theirs, csv_bytes(order_rows(1)))
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    upload(merchant_client, connection_id, csv_bytes(order_rows(1)))
    order_import = OrderImport.objects.get()
    for path in ("", "result.csv"):
        assert other_client.get(f"/orders/import/{order_import.pk}/{path}").status_code == 404
    for path in ("start/", "cancel/"):
        assert other_client.post(f"/orders/import/{order_import.pk}/{path}").status_code == 404
    order_import.refresh_from_db()
    assert not order_import.cancel_requested


def test_the_orders_page_links_to_the_import(merchant_client, sandbox):
    assert 'href="/orders/import/"' in merchant_client.get("/orders/").content.decode()

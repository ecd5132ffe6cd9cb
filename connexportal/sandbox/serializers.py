"""Wire shapes, key for key and in the order the spec's samples and routes' examples show them."""

from __future__ import annotations

from collections.abc import Iterable

from connexportal.connex import routes
from connexportal.sandbox import wire
from connexportal.sandbox.models import (
    ConnectionSetting,
    Order,
    OrderLine,
    Product,
    ScheduledTask,
    TaskRun,
    UserConnection,
)

_EMPTY_ARRAYS = ("reportingOrders", "reports", "inventoryDetailLogs", "notificationSettings")


def embedded_connection(connection: UserConnection) -> wire.RawJSON:
    """The ``userConnection`` inside each product (spec: its arrays empty, no name), encoded once."""
    return wire.RawJSON(
        wire.dumps(
            {
                "deleted": connection.deleted,
                "connectionType": connection.connection_type,
                "connectionTypeId": 0,
                "solutionWebsite": connection.solution_website,
                "connectionSettings": [],
                "scheduledTasks": [],
                **{key: [] for key in _EMPTY_ARRAYS},
                "id": connection.pk,
                "reportingUserId": str(connection.user.reporting_user_id),
                "reportingUser": None,
                "dateCreated": wire.timestamp(connection.date_created),
                "dateModified": wire.timestamp(connection.date_modified),
            }
        )
    )


def setting(row: ConnectionSetting) -> dict:
    return {"id": row.pk, "userConnectionId": row.connection_id, "name": row.name, "value": row.value}


def run_log(run: TaskRun) -> dict:
    return {
        "id": run.pk,
        "scheduledTaskId": run.task_id,
        "status": run.status,
        "trigger": run.trigger,
        "queuedUtc": wire.timestamp(run.queued_utc),
        "startedUtc": wire.timestamp(run.started_utc),
        "finishedUtc": wire.timestamp(run.finished_utc),
        "ordersDownloaded": run.orders_downloaded,
        "ordersSkipped": run.orders_skipped,
        "message": run.message,
    }


def scheduled_task(task: ScheduledTask, runs: Iterable[TaskRun]) -> dict:
    return {
        "id": task.pk,
        "userConnectionId": task.connection_id,
        "taskType": task.task_type,
        "taskTypeName": routes.TASK_TYPES.get(task.task_type, ""),
        "enabled": task.enabled,
        "intervalSeconds": task.interval_seconds,
        "status": task.status,
        "lastRunUtc": wire.timestamp(task.last_run_utc),
        "nextRunUtc": wire.timestamp(task.next_run_utc),
        "runLogs": [run_log(run) for run in runs],
    }


def listed_connection(connection: UserConnection, settings: Iterable[ConnectionSetting], tasks: Iterable[dict]) -> dict:
    """One element of UserConnections/List (routes.LIST_CONNECTIONS_RESPONSE_EXAMPLE)."""
    return {
        "id": connection.pk,
        "reportingUserId": str(connection.user.reporting_user_id),
        "reportingUser": None,
        "userConnectionName": connection.name,
        "connectionType": connection.connection_type,
        "connectionTypeId": 0,
        "solutionWebsite": connection.solution_website,
        "deleted": connection.deleted,
        "dateCreated": wire.timestamp(connection.date_created),
        "dateModified": wire.timestamp(connection.date_modified),
        "connectionSettings": [setting(row) for row in settings],
        "scheduledTasks": list(tasks),
        **{key: [] for key in _EMPTY_ARRAYS},
    }


def product(row: Product, connection: UserConnection, embedded: wire.RawJSON) -> dict:
    """One element of ``lstProducts``, as the spec's List Products Response shows it."""
    return {
        "name": row.name,
        "description": row.description,
        "timeUntilRestock": row.time_until_restock,
        "daystoReceive": row.days_to_receive,
        "sku": row.sku,
        "asin": row.asin,
        "productType": row.product_type,
        # Sic: the spec's response carries this misspelled twin, always null.
        "productTyp": None,
        "unitCost": row.unit_cost,
        "assetValue": row.asset_value,
        "salesPrice": row.sales_price,
        "reorderPoint": row.reorder_point,
        "maxQuantity": row.max_quantity,
        "quantityOnOrder": row.quantity_on_order,
        "quantityOnSalesOrder": row.quantity_on_sales_order,
        "quantity": row.quantity,
        "id": row.pk,
        "averageCost": row.average_cost,
        "quantityOnHand": row.quantity_on_hand,
        "unit": row.unit,
        "isManual": row.is_manual,
        "channelName": connection.channel_name,
        "userConnection": embedded,
        "createdAt": wire.timestamp(row.created_at),
        "updatedAt": wire.timestamp(row.updated_at),
        "hasUnknownSku": row.has_unknown_sku,
        "internalNote": row.internal_note,
        "imageUrl": row.image_urls[0] if row.image_urls else "",
        "imageUrls": row.image_urls,
        "objCategoryIds": {
            "categoryId": row.category_id,
            "categoryName": row.category_name,
            "subCategoryIds": row.sub_category_ids,
        },
        "objUserConnectionViewModel": {"userConnectionId": connection.pk, "userConnectionName": connection.name},
    }


def order(row: Order, lines: Iterable[OrderLine]) -> dict:
    """One element of ``lstAllOrders``; amounts without trailing zeros, as the orders sample writes them.

    Inferred: totalProductSales is the order total; a line's unitPrice is its price
    excluding tax and totalSoldPrice is unitPrice x quantity.
    """
    return {
        "id": row.pk,
        "orderNumber": row.order_number,
        "orderDate": wire.order_date(row.order_date),
        "channel": row.channel_name,
        "totalProductSales": wire.trim_decimal(row.order_total),
        "userConnectionId": row.connection_id,
        "customerName": row.customer_name,
        "chipColor": "",
        "lstOrderItemDetails": [
            {
                "productName": line.name,
                "sku": line.sku,
                "orderedProductQuantity": wire.trim_decimal(line.quantity),
                "totalSoldPrice": wire.trim_decimal(line.price_excl_tax * line.quantity),
                "unitPrice": wire.trim_decimal(line.price_excl_tax),
                "imagesUrl": [],
                "orderNumberSummary": line.order_numbers_for_item_summary or [row.order_number],
            }
            for line in lines
        ],
    }

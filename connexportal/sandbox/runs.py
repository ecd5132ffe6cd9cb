"""Scheduled task runs: RunNow queues one; it moves Queued -> Running -> Completed (or Failed).

Nothing runs in the background. Every authenticated sandbox request first calls
``advance(now)``, which moves each active run as far as ``now`` allows, working from
the run's own timestamps: started = queued + CONNEX_SANDBOX_RUN_QUEUED_SECONDS and
finished = started + CONNEX_SANDBOX_RUN_RUNNING_SECONDS, whatever request noticed. So a
run behaves the same under one process or many (gunicorn workers, runsandbox threads),
never blocks the RunNow request, and a test can drive it with an explicit clock.

On completion an Orders task downloads the simulated channel's orders inside
LastDownloadUtc..LastDownloadUtcEnd (never past the finish time), skips order numbers
the connection already has, writes the counts to the run log and moves the timers the
way Connex does: the window becomes "an hour ago" .. "tomorrow" (UTC), and the next
run moves forward by whole intervals until it is after the run. The sandbox does not
start runs on their schedule by itself: its data only changes when a client asks.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction

from connexportal.connex import routes
from connexportal.connex.keys import order_key, sku_key
from connexportal.sandbox import catalog, channel, conf, wire
from connexportal.sandbox.models import (
    ORDERS_TASK,
    ConnectionSetting,
    Order,
    OrderLine,
    Product,
    ScheduledTask,
    TaskRun,
    TaskStatus,
    UserConnection,
)
from connexportal.sandbox.problems import Problem

logger = logging.getLogger(__name__)

TRIGGER_RUN_NOW = "RunNow"
TRIGGER_SCHEDULE = "Schedule"
INVENTORY_TASK = 1
CUSTOM_INTEGRATION = 99


class RunFailure(Exception):
    """The run ends Failed; the message goes to its run log."""


def queue_run(task: ScheduledTask, *, now: datetime, trigger: str = TRIGGER_RUN_NOW) -> TaskRun:
    """A new Queued run of ``task``; 409 while another run of it is queued or running."""
    with transaction.atomic():
        locked = ScheduledTask.objects.select_for_update().get(pk=task.pk)
        active = locked.runs.filter(status__in=TaskRun.ACTIVE).order_by("-id").first()
        if active is not None:
            raise Problem(
                409,
                f"Scheduled task {locked.pk} already has run {active.pk} {active.status.lower()} "
                f"(queued {wire.timestamp(active.queued_utc)}); wait for it to finish before running it again.",
            )
        run = TaskRun.objects.create(task=locked, status=TaskStatus.QUEUED, trigger=trigger, queued_utc=now)
        locked.status = TaskStatus.QUEUED
        locked.save(update_fields=["status"])
    task.status = TaskStatus.QUEUED
    return run


def advance(*, now: datetime) -> None:
    """Move every queued or running run as far as ``now`` allows (idempotent, monotonic)."""
    active = list(TaskRun.objects.filter(status__in=TaskRun.ACTIVE).values_list("pk", flat=True))
    if not active:
        return
    queued_for, running_for = conf.run_durations()
    for pk in active:
        _advance_run(pk, now=now, queued_for=queued_for, running_for=running_for)


def _advance_run(pk: int, *, now: datetime, queued_for: timedelta, running_for: timedelta) -> None:
    with transaction.atomic():
        run = (
            TaskRun.objects.select_for_update(of=("self",))
            .select_related("task__connection__user")
            .filter(pk=pk, status__in=TaskRun.ACTIVE)
            .first()
        )
        if run is None:
            return
        task = run.task
        changed = False
        if run.status == TaskStatus.QUEUED and run.queued_utc + queued_for <= now:
            run.status = TaskStatus.RUNNING
            run.started_utc = run.queued_utc + queued_for
            task.status = TaskStatus.RUNNING
            task.last_run_utc = run.started_utc
            changed = True
        if run.status == TaskStatus.RUNNING and run.started_utc + running_for <= now:
            run.finished_utc = run.started_utc + running_for
            try:
                with transaction.atomic():
                    _finish(run, task)
            except Exception:
                # A bug in the simulation must fail this run, not every later request that retries it.
                logger.exception("Sandbox run %s of task %s failed unexpectedly", run.pk, task.pk)
                run.status = TaskStatus.FAILED
                run.message = "The sandbox could not complete this run (an internal error; see its log)."
            task.status = run.status
            task.next_run_utc = _next_run_after(task, run.finished_utc)
            changed = True
        if changed:
            run.save()
            task.save(update_fields=["status", "last_run_utc", "next_run_utc"])


def _next_run_after(task: ScheduledTask, moment: datetime) -> datetime | None:
    """next run += interval, as many times as it takes to be after ``moment`` (keeps the time of day)."""
    if not task.interval_seconds:
        return task.next_run_utc
    interval = timedelta(seconds=task.interval_seconds)
    upcoming = task.next_run_utc or moment
    if upcoming <= moment:
        upcoming += interval * ((moment - upcoming) // interval + 1)
    return upcoming


def _finish(run: TaskRun, task: ScheduledTask) -> None:
    connection = task.connection
    settings = {setting.name.lower(): setting for setting in connection.settings.all()}
    try:
        if task.task_type == ORDERS_TASK:
            downloaded, skipped, message = _download_orders(connection, settings, finished=run.finished_utc)
        else:
            downloaded, skipped, message = _sync_without_orders(task, settings, finished=run.finished_utc)
    except RunFailure as failure:
        run.status = TaskStatus.FAILED
        run.message = str(failure)
        return
    run.status = TaskStatus.COMPLETED
    run.orders_downloaded, run.orders_skipped, run.message = downloaded, skipped, message


def _value(settings: dict[str, ConnectionSetting], name: str) -> str:
    setting = settings.get(name.lower())
    return setting.value.strip() if setting else ""


def _window(settings: dict[str, ConnectionSetting], start_name: str, end_name: str) -> tuple[datetime, datetime]:
    bounds = []
    for name in (start_name, end_name):
        text = _value(settings, name)
        if not text:
            raise RunFailure(f"{name} is not set; set the window with Settings/Update first.")
        try:
            bounds.append(wire.parse_timestamp(text))
        except ValueError:
            raise RunFailure(f"{name} {text!r} is not a date and time.") from None
    return bounds[0], bounds[1]


def _move_window(connection: UserConnection, settings, start_name: str, end_name: str, finished: datetime) -> None:
    """Connex's timer move after a sync: from an hour before it finished until the same time tomorrow."""
    for name, moment in ((start_name, finished - timedelta(hours=1)), (end_name, finished + timedelta(days=1))):
        setting = settings.get(name.lower()) or ConnectionSetting(connection=connection, name=name)
        setting.value = wire.setting_timestamp(moment)
        setting.save()


def _download_orders(connection: UserConnection, settings, *, finished: datetime) -> tuple[int, int, str]:
    channel_name = connection.channel_name
    start, end = _window(settings, "LastDownloadUtc", "LastDownloadUtcEnd")
    if connection.connection_type == CUSTOM_INTEGRATION or not channel.sells_orders(connection.connection_type):
        _move_window(connection, settings, "LastDownloadUtc", "LastDownloadUtcEnd", finished)
        return 0, 0, f"Nothing to download: {channel_name} orders arrive through api/orders/createorders."
    if not (_value(settings, "SolutionUserName") or _value(settings, "SolutionPassword")):
        raise RunFailure(
            f"Could not connect to {channel_name}: the connection is not paired "
            "(SolutionUserName and SolutionPassword are empty)."
        )
    if end - start > channel.MAX_WINDOW:
        raise RunFailure(
            f"The download window {wire.setting_timestamp(start)} .. {wire.setting_timestamp(end)} is longer "
            f"than {channel.MAX_WINDOW.days} days; narrow LastDownloadUtc .. LastDownloadUtcEnd."
        )
    found = channel.orders_between(
        connection_id=connection.pk,
        connection_type=connection.connection_type,
        store=connection.name,
        start=start,
        end=min(end, finished),
    )
    try:
        group_by = int(_value(settings, "SummaryTransactionGroupBy") or 0)
    except ValueError:
        group_by = 0
    prefix = catalog.SKU_PREFIXES.get(connection.connection_type, "CHN")
    to_write = channel.summarize(found, group_by=group_by, prefix=prefix) if group_by else found
    existing = set(
        Order.objects.filter(connection=connection, number_key__in=[order_key(o.number) for o in to_write]).values_list(
            "number_key", flat=True
        )
    )
    new = [order for order in to_write if order_key(order.number) not in existing]
    write_channel_orders(connection, new, written_at=finished)
    downloaded = sum(len(order.summarized) or 1 for order in new)
    skipped = sum(len(order.summarized) or 1 for order in to_write if order_key(order.number) in existing)
    _move_window(connection, settings, "LastDownloadUtc", "LastDownloadUtcEnd", finished)
    duplicates = f"skipped {skipped} duplicate{'' if skipped == 1 else 's'}"
    if group_by:
        how = channel.describe_group_by(group_by)
        message = f"Downloaded {downloaded} orders as {len(new)} summaries ({how}), {duplicates}"
    else:
        message = f"Downloaded {downloaded} orders, {duplicates}"
    return downloaded, skipped, message


def _sync_without_orders(task: ScheduledTask, settings, *, finished: datetime) -> tuple[int, int, str]:
    connection = task.connection
    if task.task_type == INVENTORY_TASK:
        count = Product.objects.filter(connection=connection).count()
        _move_window(connection, settings, "LastProductDownloadUtc", "LastProductDownloadUtcEnd", finished)
        return 0, 0, f"Synced inventory of {count} products with {connection.channel_name}"
    task_name = routes.TASK_TYPES.get(task.task_type, str(task.task_type))
    return 0, 0, f"{task_name}: nothing to send to {connection.channel_name}"


def write_channel_orders(
    connection: UserConnection, orders: list[channel.ChannelOrder], *, written_at: datetime | None = None
) -> None:
    """Store downloaded (or seeded) channel orders with their lines, in bulk.

    ``written_at`` is when Connex stored them; it defaults to each order's own date (the seed's history).
    """
    if not orders:
        return
    skus = {line.sku for order in orders for line in order.lines}
    known = set(
        Product.objects.filter(connection=connection, sku_key__in={sku_key(sku) for sku in skus}).values_list(
            "sku_key", flat=True
        )
    )
    rows = Order.objects.bulk_create(
        [
            Order(
                user_id=connection.user_id,
                connection=connection,
                order_number=order.number,
                order_date=order.order_date,
                customer_name=order.customer_name,
                channel_name=connection.channel_name,
                order_type=order.order_type,
                order_total=order.total,
                total_tax=order.total_tax,
                total_excl_tax=order.total - order.total_tax,
                shipping_excl_tax=order.shipping,
                shipping_incl_tax=order.shipping,
                shipping_method=order.shipping_method,
                shipping_region=order.region,
                shipping_country=order.country,
                creation_date=order.order_date,
                credit_card_name=order.payment_method,
                created_at=written_at or order.order_date,
            )
            for order in orders
        ],
        batch_size=500,
    )
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=row,
                position=position,
                name=line.name,
                sku=line.sku,
                quantity=line.quantity,
                price_excl_tax=line.price_excl_tax,
                price_incl_tax=line.price_incl_tax,
                has_known_sku=sku_key(line.sku) in known,
                order_numbers_for_item_summary=line.order_numbers,
            )
            for row, order in zip(rows, orders, strict=True)
            for position, line in enumerate(order.lines)
        ],
        batch_size=1000,
    )

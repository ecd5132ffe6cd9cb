"""The daily retention run, as a worker task that queues its own next run (no cron needed)."""

from __future__ import annotations

import datetime as dt

from django.tasks import TaskResultStatus, task
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from connexportal.activity.retention import retention_prune

PRUNE_INTERVAL = dt.timedelta(days=1)


@task()
def prune_daily() -> dict[str, int]:
    # The next run is queued first, so that a failing pass does not end the schedule.
    prune_daily.using(run_after=timezone.now() + PRUNE_INTERVAL).enqueue()
    return retention_prune()


def prune_schedule_start() -> bool:
    """Queue the daily run now unless one is already waiting or running; True when this call queued it.

    Safe to call on every start: the schedule is one chain of tasks, never one more per start.
    """
    waiting = DBTaskResult.objects.filter(
        task_path=prune_daily.module_path, status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]
    )
    if waiting.exists():
        return False
    prune_daily.enqueue()
    return True

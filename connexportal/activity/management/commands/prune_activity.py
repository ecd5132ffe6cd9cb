from django.conf import settings
from django.core.management.base import BaseCommand

from connexportal.activity.retention import retention_prune
from connexportal.activity.tasks import prune_schedule_start


class Command(BaseCommand):
    help = (
        "Delete activity and webhook rows older than ACTIVITY_RETENTION_DAYS, and spent embed launches, "
        "embed sessions and expired login sessions. Run it daily from cron, or pass --schedule once to let "
        "the task worker (manage.py db_worker) do it every day."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--schedule",
            action="store_true",
            help="Queue the daily pruning task for the worker (unless it is already queued) instead of pruning now.",
        )

    def handle(self, *args, schedule: bool, **options):
        if schedule:
            queued = prune_schedule_start()
            self.stdout.write("Daily pruning queued." if queued else "Daily pruning is already scheduled.")
            return
        counts = retention_prune()
        summary = ", ".join(f"{name}: {count}" for name, count in counts.items())
        self.stdout.write(f"Pruned (retention {settings.ACTIVITY_RETENTION_DAYS} days): {summary}")

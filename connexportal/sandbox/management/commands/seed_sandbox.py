import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from connexportal.sandbox.seed import seed


class Command(BaseCommand):
    help = (
        "Seed the Connex sandbox's demo accounts (deterministic and idempotent): qbotest@intuit.com gets "
        "--products and --orders, other@connex.test a tenth of each."
    )

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=500, help="demo account products (default 500)")
        parser.add_argument("--orders", type=int, default=300, help="demo account orders (default 300)")
        parser.add_argument(
            "--today",
            type=date.fromisoformat,
            default=None,
            help="anchor day (YYYY-MM-DD, UTC) the data is dated from; default today",
        )

    def handle(self, *args, **options):
        if options["products"] < 0 or options["orders"] < 0:
            raise CommandError("--products and --orders must be 0 or more.")
        today = options["today"] or timezone.now().date()
        started = time.perf_counter()
        self.stdout.write("Connex sandbox logins:")
        report = seed(
            products=options["products"],
            orders=options["orders"],
            today=today,
            log=lambda line: self.stdout.write(f"  {line}"),
        )
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"Seeded the Connex sandbox in {elapsed:.1f}s (anchor {today.isoformat()}): added {report.users} users, "
            f"{report.connections} connections, {report.settings} settings, {report.tasks} tasks, {report.runs} runs, "
            f"{report.products} products, {report.orders} orders."
        )

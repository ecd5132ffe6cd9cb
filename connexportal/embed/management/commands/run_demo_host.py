from django.core.management.base import BaseCommand, CommandError

from connexportal.core.management.commands.seed_demo import (
    DEMO_HOST_PORT,
    DEMO_MERCHANTS,
    DEMO_PARTNER_KEY,
    DEMO_WEBHOOK_SECRET,
)
from connexportal.embed.demohost import DemoHost, DemoHostServer


class Command(BaseCommand):
    help = (
        "Serve a demo partner app on a second origin that embeds the portal: it mints launch URLs "
        "through the partner API and shows the events the portal sends."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--port", type=int, default=DEMO_HOST_PORT, help=f"Port to serve on (default {DEMO_HOST_PORT})."
        )
        parser.add_argument("--bind", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
        parser.add_argument(
            "--portal", default="http://127.0.0.1:8000", help="The portal's base URL (default http://127.0.0.1:8000)."
        )
        parser.add_argument(
            "--api-key", default=DEMO_PARTNER_KEY, help="The partner API key (default: the demo partner's)."
        )
        parser.add_argument(
            "--webhook-secret",
            default=DEMO_WEBHOOK_SECRET,
            help="The whsec_ secret events to /webhooks are verified with (default: the demo partner's).",
        )
        parser.add_argument(
            "--merchant",
            action="append",
            dest="merchants",
            help="A merchant external id the page offers (repeatable; default: the demo merchants).",
        )

    def handle(
        self,
        *args,
        port: int,
        bind: str,
        portal: str,
        api_key: str,
        webhook_secret: str,
        merchants: list[str] | None,
        **options,
    ):
        host = DemoHost(
            portal_url=portal.rstrip("/"),
            api_key=api_key,
            merchants=tuple(merchants or [spec["external_id"] for spec in DEMO_MERCHANTS]),
            webhook_secret=webhook_secret,
        )
        try:
            server = DemoHostServer((bind, port), host)
        except OSError as exc:
            raise CommandError(f"Cannot listen on {bind}:{port}: {exc.strerror}") from None
        # localhost, not 127.0.0.1: another site than a portal on 127.0.0.1, as a partner's app is.
        page = f"http://localhost:{port}/" if bind in {"127.0.0.1", "localhost", "::1"} else f"http://{bind}:{port}/"
        self.stdout.write(f"Demo partner app on {page} embedding {host.portal_url} (partner API key {api_key[:16]}…)")
        self.stdout.write(f"It receives webhooks at {page}webhooks and verifies them with standardwebhooks.")
        self.stdout.write(
            f"The partner must allow that page's origin to embed the portal (seed_demo --demo-host-port {port} does)."
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Demo partner app stopped.")
        finally:
            server.server_close()

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from connexportal.accounts.models import ConnexAccount, Merchant, Partner, PartnerApiKey, User, hash_api_key
from connexportal.webhooks.models import WebhookEndpoint

DEMO_STAFF = ("admin@demo.test", "demo-admin")
# The demo partner's API key is fixed, like the demo logins, so the demo host page can use it.
DEMO_PARTNER_NAME = "Demo Partner"
DEMO_PARTNER_KEY = "cxp_demo00000000_demo-partner-key-for-local-use-only"
# The demo partner's administrator in the partner console (/partner/).
DEMO_PARTNER_LOGIN = ("partner@demo.test", "demo-partner")
# The demo partner app (run_demo_host) serves on this port unless told otherwise; make run passes its own.
DEMO_HOST_PORT = 8001
# The demo partner app receives every event at /webhooks and verifies it with this secret (the
# base64 of "demo-partner-webhook-key-for-local-use"), fixed like the API key.
DEMO_WEBHOOK_SECRET = "whsec_ZGVtby1wYXJ0bmVyLXdlYmhvb2sta2V5LWZvci1sb2NhbC11c2U="
DEMO_WEBHOOK_DESCRIPTION = "The demo partner app (run_demo_host)"
# Each demo merchant sits on its own sandbox account (seeded by seed_sandbox) with different data.
DEMO_MERCHANTS = (
    {
        "name": "Demo Outdoor Supply",
        "external_id": "demo-merchant-1",
        "timezone": "America/New_York",
        "login": ("merchant@demo.test", "demo-merchant"),
        "connex": ("qbotest@intuit.com", "connex-demo"),
    },
    {
        "name": "Other Demo Books",
        "external_id": "demo-merchant-2",
        "timezone": "Europe/London",
        "login": ("other@demo.test", "demo-other"),
        "connex": ("other@connex.test", "connex-other"),
    },
)


def demo_partner_origins(port: int) -> tuple[str, ...]:
    """Where the demo partner app on ``port`` runs: both names of this machine, as browsers tell them apart."""
    return (f"http://localhost:{port}", f"http://127.0.0.1:{port}")


def demo_webhook_url(port: int) -> str:
    return f"http://localhost:{port}/webhooks"


class Command(BaseCommand):
    help = "Create the demo logins and data `make run` shows (DEBUG only; idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=2000, help="Sandbox products for the demo account.")
        parser.add_argument("--orders", type=int, default=1500, help="Sandbox orders for the demo account.")
        parser.add_argument(
            "--demo-host-port",
            type=int,
            default=DEMO_HOST_PORT,
            help=f"Port of the demo partner app, whose origins may embed the portal (default {DEMO_HOST_PORT}).",
        )
        parser.add_argument(
            "--demo-host-webhooks",
            action="store_true",
            help="Also send the demo partner's webhooks to the demo partner app (make run does).",
        )

    def handle(
        self, *args, products: int, orders: int, demo_host_port: int, demo_host_webhooks: bool = False, **options
    ):
        if not settings.DEBUG:
            raise CommandError("seed_demo creates well-known demo logins and only runs with DEBUG on.")
        if not 0 < demo_host_port < 65536:
            raise CommandError(f"--demo-host-port must be a port number (1-65535), got {demo_host_port}.")
        if settings.CONNEX_SANDBOX:
            call_command("seed_sandbox", products=products, orders=orders, stdout=self.stdout)
        with transaction.atomic():
            self.seed_staff()
            partner = self.seed_partner(demo_host_port)
            if demo_host_webhooks:
                self.seed_webhook_endpoint(partner, demo_host_port)
            self.seed_partner_user(partner)
            for spec in DEMO_MERCHANTS:
                self.seed_merchant(spec, partner)

    def seed_staff(self) -> None:
        email, password = DEMO_STAFF
        staff, created = User.objects.get_or_create(email=email)
        staff.is_staff = staff.is_superuser = staff.is_active = True
        staff.set_password(password)
        staff.save()
        self.stdout.write(f"{'Created' if created else 'Refreshed'} staff login {email} / {password}")

    def seed_partner(self, demo_host_port: int) -> Partner:
        partner, _ = Partner.objects.get_or_create(name=DEMO_PARTNER_NAME)
        partner.embed_origins = "\n".join(demo_partner_origins(demo_host_port))
        # Its own colours, so the demo shows the white-labelling at a glance.
        partner.primary_color, partner.accent_color = "#5b3cc4", "#0f7b6c"
        partner.is_active = True
        partner.save()
        prefix = DEMO_PARTNER_KEY.removeprefix("cxp_").split("_", 1)[0]
        PartnerApiKey.objects.update_or_create(
            prefix=prefix,
            defaults={
                "partner": partner,
                "name": "demo",
                "key_hash": hash_api_key(DEMO_PARTNER_KEY),
                "revoked_at": None,
            },
        )
        self.stdout.write(
            f"Partner {partner.name}: API key {DEMO_PARTNER_KEY} (embeds from {', '.join(partner.origins)})"
        )
        return partner

    def seed_webhook_endpoint(self, partner: Partner, demo_host_port: int) -> None:
        endpoint, _ = WebhookEndpoint.objects.update_or_create(
            partner=partner,
            description=DEMO_WEBHOOK_DESCRIPTION,
            defaults={"url": demo_webhook_url(demo_host_port), "event_types": [], "is_active": True},
        )
        endpoint.set_secret(DEMO_WEBHOOK_SECRET)
        endpoint.previous_secret_encrypted, endpoint.previous_secret_expires_at = "", None
        endpoint.save()
        self.stdout.write(f"Partner {partner.name}: webhooks to {endpoint.url}")

    def seed_partner_user(self, partner: Partner) -> None:
        email, password = DEMO_PARTNER_LOGIN
        user, created = User.objects.get_or_create(email=email, defaults={"partner": partner})
        user.partner, user.merchant = partner, None
        user.is_partner_admin = user.is_active = True
        user.is_staff = user.is_superuser = False
        user.set_password(password)
        user.save()
        self.stdout.write(f"{'Created' if created else 'Refreshed'} partner console login {email} / {password}")

    def seed_merchant(self, spec: dict, partner: Partner) -> None:
        merchant, _ = Merchant.objects.update_or_create(
            name=spec["name"],
            defaults={
                "timezone": spec["timezone"],
                "is_active": True,
                "partner": partner,
                "external_id": spec["external_id"],
            },
        )
        username, connex_password = spec["connex"]
        account = ConnexAccount.objects.filter(merchant=merchant).first() or ConnexAccount(merchant=merchant)
        account.environment = "sandbox"
        account.username = username
        account.set_password(connex_password)
        account.save()
        email, password = spec["login"]
        user, _ = User.objects.get_or_create(email=email)
        user.merchant = merchant
        user.is_active = True
        user.set_password(password)
        user.save()
        self.stdout.write(f"Merchant {merchant.name}: login {email} / {password} (sandbox account {username})")

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

DEMO_STAFF_EMAIL = "admin@demo.test"
DEMO_STAFF_PASSWORD = "demo-admin"


class Command(BaseCommand):
    help = "Create the demo logins and data `make run` shows (DEBUG only; idempotent)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo creates well-known demo logins and only runs with DEBUG on.")
        self.seed_staff()

    def seed_staff(self) -> None:
        user_model = get_user_model()
        staff, created = user_model.objects.get_or_create(email=DEMO_STAFF_EMAIL)
        staff.is_staff = staff.is_superuser = staff.is_active = True
        staff.set_password(DEMO_STAFF_PASSWORD)
        staff.save()
        verb = "Created" if created else "Refreshed"
        self.stdout.write(f"{verb} staff login {DEMO_STAFF_EMAIL} / {DEMO_STAFF_PASSWORD}")

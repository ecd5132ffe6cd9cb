from django.core.management.base import BaseCommand
from django.db import transaction

from connexportal.accounts import crypto
from connexportal.accounts.models import ConnexAccount


class Command(BaseCommand):
    help = "Re-encrypt every stored secret under the first key of FIELD_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        rotated = 0
        with transaction.atomic():
            for account in ConnexAccount.objects.select_for_update().only("id", "password_encrypted"):
                account.password_encrypted = crypto.rotate(account.password_encrypted)
                account.save(update_fields=["password_encrypted"])
                rotated += 1
        self.stdout.write(f"Re-encrypted {rotated} Connex account password(s) under the current key.")

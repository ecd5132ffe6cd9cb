from django.core.management.base import BaseCommand
from django.db import transaction

from connexportal.accounts import crypto
from connexportal.accounts.models import ConnexAccount
from connexportal.webhooks.models import WebhookEndpoint


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret (Connex passwords, webhook signing secrets) "
        "under the first key of FIELD_ENCRYPTION_KEYS."
    )

    def handle(self, *args, **options):
        with transaction.atomic():
            passwords = self._rotate(ConnexAccount.objects.all(), "password_encrypted")
            webhook_secrets = self._rotate(WebhookEndpoint.objects.all(), "secret_encrypted")
            webhook_secrets += self._rotate(
                WebhookEndpoint.objects.exclude(previous_secret_encrypted=""), "previous_secret_encrypted"
            )
        self.stdout.write(
            f"Re-encrypted {passwords} Connex account password(s) and {webhook_secrets} webhook signing secret(s) "
            "under the current key."
        )

    @staticmethod
    def _rotate(queryset, field: str) -> int:
        rotated = 0
        # update(), not save(): re-encrypting changes no value, so no timestamp or signal should move.
        for pk, ciphertext in queryset.select_for_update().values_list("pk", field):
            queryset.model.objects.filter(pk=pk).update(**{field: crypto.rotate(ciphertext)})
            rotated += 1
        return rotated

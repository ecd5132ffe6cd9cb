import secrets

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

from connexportal.accounts.models import Partner, PartnerApiKey, User
from connexportal.activity.services import Actor, activity_record, api_key_label


class Command(BaseCommand):
    help = (
        "Create a partner (or add origins to an existing one) and print a new API key once; with "
        "--admin-email, also its first partner console administrator, whose generated password is printed once."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="The partner's display name.")
        parser.add_argument(
            "--embed-origin",
            action="append",
            default=[],
            dest="origins",
            help="An origin allowed to embed the portal, e.g. https://app.example.com (repeatable).",
        )
        parser.add_argument("--language", default=None, help="Default language: en, es or fr.")
        parser.add_argument(
            "--admin-email",
            default=None,
            help="Create this partner console (/partner/) administrator with a generated password, printed once.",
        )

    def handle(self, *args, name: str, origins: list[str], language: str | None, admin_email: str | None, **options):
        if admin_email is not None:
            admin_email = admin_email.strip().lower()
            try:
                validate_email(admin_email)
            except ValidationError:
                raise CommandError(f"--admin-email: {admin_email!r} is not an email address.") from None
            if User.objects.filter(email=admin_email).exists():
                raise CommandError(f"--admin-email: a user with the email {admin_email} already exists.")
        admin_password = None
        with transaction.atomic():
            partner = Partner.objects.filter(name=name).first() or Partner(name=name)
            created = partner.pk is None
            before = {"embed_origins": partner.embed_origins, "default_language": partner.default_language}
            known = partner.origins
            partner.embed_origins = "\n".join(known + [origin for origin in origins if origin not in known])
            if language:
                partner.default_language = language
            try:
                partner.full_clean()
            except ValidationError as exc:
                problems = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())
                raise CommandError(problems) from None
            partner.save()
            key, plaintext = PartnerApiKey.issue(partner, name="create_partner")
            actor = Actor.system("create_partner")
            changes = {
                field: (None if created else old, getattr(partner, field))
                for field, old in before.items()
                if created or old != getattr(partner, field)
            }
            if changes:
                action = "partner.created" if created else "partner.changed"
                activity_record(action=action, actor=actor, partner=partner, target=partner.name, changes=changes)
            activity_record(action="api_key.issued", actor=actor, partner=partner, target=api_key_label(key))
            if admin_email is not None:
                admin_password = secrets.token_urlsafe(18)
                User.objects.create_user(admin_email, admin_password, partner=partner, is_partner_admin=True)
        self.stdout.write(
            f"Partner {partner.name} (id {partner.pk}); embed origins: {', '.join(partner.origins) or 'none'}"
        )
        self.stdout.write(f"API key (shown once, store it now): {plaintext}")
        if admin_password is not None:
            self.stdout.write(
                f"Partner console administrator {admin_email} (log in at /login/), "
                f"password (shown once, store it now): {admin_password}"
            )

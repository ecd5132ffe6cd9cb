"""Forms of the login pages that Django's own need adjusting for."""

from __future__ import annotations

from django.contrib.auth.forms import PasswordResetForm

from connexportal.accounts.backends import account_is_active


def may_reset_password(user) -> bool:
    """Merchants' and partners' users only, while user, merchant and partner are active; staff use
    `changepassword`."""
    has_account = user.merchant_id is not None or user.partner_id is not None
    return user.is_active and has_account and account_is_active(user)


class PortalPasswordResetForm(PasswordResetForm):
    def get_users(self, email):
        # Whoever is left out gets the same page and no mail, like an unknown address.
        return (user for user in super().get_users(email) if may_reset_password(user))

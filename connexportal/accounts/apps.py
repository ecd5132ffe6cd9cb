from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "connexportal.accounts"
    label = "accounts"
    verbose_name = "Accounts"

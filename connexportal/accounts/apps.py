from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "connexportal.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from connexportal.accounts.languages import save_login_language

        user_logged_in.connect(save_login_language, dispatch_uid="accounts.save_login_language")

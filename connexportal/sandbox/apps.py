from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "connexportal.sandbox"
    label = "sandbox"
    verbose_name = "Connex sandbox"

    def ready(self) -> None:
        from django.core import checks

        from connexportal.sandbox.checks import check_configuration

        checks.register(check_configuration)

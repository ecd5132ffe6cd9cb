from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "connexportal.sandbox"
    label = "sandbox"
    verbose_name = "Connex sandbox"

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "connexportal.core"
    label = "core"
    verbose_name = "Connex Portal core"

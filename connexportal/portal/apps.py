from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "connexportal.portal"
    label = "portal"
    verbose_name = "Merchant portal"

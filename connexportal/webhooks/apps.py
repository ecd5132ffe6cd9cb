from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "connexportal.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

from django.apps import AppConfig


class EmbedConfig(AppConfig):
    name = "connexportal.embed"
    label = "embed"
    verbose_name = "Embedding and partner API"

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivityConfig(AppConfig):
    name = "connexportal.activity"
    label = "activity"
    verbose_name = _("Activity")

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_login_failed

        from connexportal.activity import receivers

        user_login_failed.connect(receivers.login_failed, dispatch_uid="activity.login_failed")
        user_locked_out.connect(receivers.locked_out, dispatch_uid="activity.locked_out")

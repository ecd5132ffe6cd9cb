"""``manage.py check`` (and runserver/runsandbox start-up) reports a bad sandbox variable in one line."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from connexportal.sandbox import conf, faults


def check_configuration(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    found = []
    for probe in (conf.token_ttl, conf.run_durations, lambda: faults.parse_environment(*conf.fault_texts())):
        try:
            probe()
        except ImproperlyConfigured as exc:
            found.append(checks.Error(str(exc), id="sandbox.E001"))
    return found

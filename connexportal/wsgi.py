import gc

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from connexportal.bootstrap import configure_or_exit

configure_or_exit()
application = get_wsgi_application()
# What is loaded now (settings, apps, every view module through the URLconf) lives as long as
# the worker: frozen, the collector stops scanning it. A full collection over it cost ~0.1 ms
# per request on average (bench/bench_portal.py).
get_resolver().url_patterns  # noqa: B018 - imports every view module before the freeze
gc.freeze()

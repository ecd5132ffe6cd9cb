from django.core.asgi import get_asgi_application

from connexportal.bootstrap import configure_or_exit

configure_or_exit()
application = get_asgi_application()

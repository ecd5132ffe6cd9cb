from django.core.wsgi import get_wsgi_application

from connexportal.bootstrap import configure_or_exit

configure_or_exit()
application = get_wsgi_application()

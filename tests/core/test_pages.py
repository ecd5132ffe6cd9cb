import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_base_template_essentials(client):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="en"' in html
    assert '<a class="skip-link" href="#main">' in html
    assert '<main id="main"' in html
    token = re.search(r"hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'", html)
    assert token and len(token.group(1)) >= 32
    assert 'src="/static/django_htmx/htmx-2.min.js"' in html
    assert "https://" not in html and "http://" not in html


def test_pages_refuse_framing_and_set_csp(client):
    response = client.get("/")
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    assert f'nonce="{nonce}"' in response.content.decode()


def test_static_files_are_served(client):
    response = client.get("/static/css/portal.css")
    assert response.status_code == 200
    assert b"--cx-color-primary" in b"".join(response.streaming_content)


def test_seed_demo_is_idempotent(capsys, settings):
    settings.DEBUG = True
    call_command("seed_demo", products=20, orders=20)
    call_command("seed_demo", products=20, orders=20)
    staff = get_user_model().objects.get(email="admin@demo.test")
    assert staff.is_staff and staff.is_superuser
    assert staff.check_password("demo-admin")
    assert get_user_model().objects.filter(email="admin@demo.test").count() == 1
    assert "admin@demo.test / demo-admin" in capsys.readouterr().out


def test_home_page_offers_the_login_only_to_visitors_not_logged_in(client):
    assert '<a class="button" href="/login/">Log in</a>' in client.get("/").content.decode()
    staff = get_user_model().objects.create_user(email="staff@example.com", password="pw-for-tests-only", is_staff=True)
    client.force_login(staff)
    assert 'href="/login/"' not in client.get("/").content.decode()

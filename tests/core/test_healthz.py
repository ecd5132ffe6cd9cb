import json

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    assert response.json() == {"status": "ok", "checks": {"database": {"status": "ok"}, "cache": {"status": "ok"}}}


def test_healthz_rejects_post(client):
    assert client.post("/healthz").status_code == 405


@override_settings(
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5},
        }
    }
)
def test_healthz_reports_unreachable_cache(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["database"] == {"status": "ok"}
    assert body["checks"]["cache"]["status"] == "error"
    assert "Connection" in body["checks"]["cache"]["reason"]


def test_healthz_reports_unreachable_database(manage, tmp_path):
    missing = tmp_path / "no-such-dir" / "portal.sqlite3"
    probe = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/healthz');"
        "print(json.dumps({'code': r.status_code, 'body': r.json()}))"
    )
    result = manage(
        "shell",
        "-c",
        probe,
        env={"DEBUG": "true", "DATABASE_URL": f"sqlite:///{missing}", "ALLOWED_HOSTS": "testserver"},
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["code"] == 503
    assert outcome["body"]["status"] == "error"
    assert outcome["body"]["checks"]["database"]["status"] == "error"
    assert "unable to open database file" in outcome["body"]["checks"]["database"]["reason"]
    assert outcome["body"]["checks"]["cache"] == {"status": "ok"}

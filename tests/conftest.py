"""Test defaults. Set before Django loads settings; CI overrides DATABASE_URL and REDIS_URL."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "connexportal.settings")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("CONNEX_SANDBOX", "true")


def pytest_configure() -> None:
    from django.conf import settings

    # Loading settings here lets pytest-django finish setting Django up.
    assert settings.INSTALLED_APPS


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run manage.py in a fresh process with exactly ``env`` (plus PATH) as its environment."""
    full_env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", **env}
    return subprocess.run(
        [sys.executable, str(PROJECT_DIR / "manage.py"), *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=PROJECT_DIR,
        timeout=120,
        check=False,
    )


@pytest.fixture
def manage():
    return run_manage


@pytest.fixture(autouse=True)
def _last_known_writes_forgotten():
    """Each test starts with no memory of last known pages written (services.LAST_KNOWN_WRITES):
    the caches are cleared between tests, and a page must be stored again on its first view."""
    from connexportal.portal.services import LAST_KNOWN_WRITES

    LAST_KNOWN_WRITES.forget()

from tests.core.test_config import FERNET_KEY, STRONG_KEY

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": STRONG_KEY,
    "FIELD_ENCRYPTION_KEYS": FERNET_KEY,
    "ALLOWED_HOSTS": "portal.example.com",
}


def test_check_deploy_is_clean_under_production_settings(manage):
    result = manage("check", "--deploy", "--fail-level", "DEBUG", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_flags_debug(manage):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION_ENV, "DEBUG": "true"})
    assert result.returncode == 1
    assert "security.W018" in result.stderr


def test_seed_demo_refuses_without_debug(manage, tmp_path):
    result = manage("seed_demo", env={**PRODUCTION_ENV, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"})
    assert result.returncode == 1
    assert "only runs with DEBUG on" in result.stderr

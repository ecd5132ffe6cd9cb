"""`make run PORT=... DEMO_HOST_PORT=...`: every process it starts learns both ports, and the demo
partner's allowed origins follow the demo app's port."""

import re
import subprocess

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import PROJECT_DIR


def make_run_commands(*variables: str) -> dict[str, str]:
    """The shell line `make run` would use to start each manage.py command, by command name."""
    result = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", "run", *variables],
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
        timeout=60,
        check=True,
    )
    # "ENV=value ... .venv/bin/python manage.py <name> <args>", several to a line where they run together.
    found = re.finditer(r"((?:[A-Z_]+=\S+ )+)\S+ manage\.py (\w+)([^&\n]*)", result.stdout.replace("\\\n", " "))
    return {match[2]: f"{match[1]}{match[2]}{match[3]}" for match in found}


def test_make_run_gives_every_process_its_ports():
    commands = make_run_commands("PORT=8600", "DEMO_HOST_PORT=8601")

    for name in ("migrate", "seed_demo", "db_worker", "run_demo_host", "runserver"):
        assert " PORT=8600 " in commands[name], commands[name]
    assert "runserver 127.0.0.1:8600" in commands["runserver"]
    assert "seed_demo --demo-host-port 8601" in commands["seed_demo"]
    assert "run_demo_host --port 8601 --portal http://127.0.0.1:8600" in commands["run_demo_host"]
    # A sandbox URL the user set (in the environment or .env) is left alone: make run never sets one.
    assert "CONNEX_SANDBOX_URL" not in "".join(commands.values())


@pytest.mark.django_db
def test_seed_demo_allows_the_demo_apps_port_and_follows_it(settings, capsys):
    from connexportal.accounts.models import Partner
    from connexportal.core.management.commands.seed_demo import DEMO_PARTNER_NAME

    settings.DEBUG = True
    settings.CONNEX_SANDBOX = False
    call_command("seed_demo")
    assert Partner.objects.get(name=DEMO_PARTNER_NAME).origins == ["http://localhost:8001", "http://127.0.0.1:8001"]

    call_command("seed_demo", demo_host_port=8601)
    call_command("seed_demo", demo_host_port=8601)
    partner = Partner.objects.get(name=DEMO_PARTNER_NAME)
    assert partner.origins == ["http://localhost:8601", "http://127.0.0.1:8601"]
    assert Partner.objects.filter(name=DEMO_PARTNER_NAME).count() == 1
    assert "embeds from http://localhost:8601, http://127.0.0.1:8601" in capsys.readouterr().out


@pytest.mark.django_db
def test_seed_demo_refuses_a_port_that_is_not_one(settings):
    settings.DEBUG = True
    with pytest.raises(CommandError, match="--demo-host-port must be a port number"):
        call_command("seed_demo", demo_host_port=70000)

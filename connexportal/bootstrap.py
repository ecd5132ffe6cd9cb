"""Fail fast on bad configuration: one line on stderr, exit status 2, no traceback."""

from __future__ import annotations

import os
import sys


def configure_or_exit() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "connexportal.settings")
    from connexportal.config import ConfigError, load_config

    try:
        load_config()
    except ConfigError as exc:
        sys.stderr.write(f"Configuration error: {exc}\n")
        raise SystemExit(2) from None

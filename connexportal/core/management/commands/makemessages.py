"""Django's makemessages with this project's options built in.

``python manage.py makemessages -a`` then always writes the same catalogs, whoever runs it,
and tests/core/test_i18n.py runs this very command to check that the catalogs are up to date.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from django.conf import settings
from django.core.management.commands import makemessages

# Never translated: the sandbox imitates Connex, which answers in English; tests and
# benchmarks are not shown to users; the others are installed or generated files.
IGNORED = [".venv", "staticfiles", "node_modules", "connexportal/sandbox", "tests", "bench"]
CREATION_DATE = re.compile(r'^"POT-Creation-Date: .*$', re.MULTILINE)


def _without_date(text: str) -> str:
    return CREATION_DATE.sub("", text)


class Command(makemessages.Command):
    # A guessed translation from a similar string is usually wrong; an empty one is honest,
    # and the catalog test names it.
    msgmerge_options = [*makemessages.Command.msgmerge_options, "--no-fuzzy-matching"]

    def handle(self, *args, **options):
        options["ignore_patterns"] = [*options["ignore_patterns"], *IGNORED]
        # Line numbers would change the catalogs whenever code moves; file names are enough to
        # find a string. Unwrapped messages and no obsolete entries keep catalog diffs readable.
        if not options["no_location"] and options["add_location"] is None:
            options["add_location"] = "file"
        options["no_wrap"] = True
        options["no_obsolete"] = True
        catalogs = [path for root in settings.LOCALE_PATHS for path in Path(root).glob("*/LC_MESSAGES/*.po")]
        before = {path: (path.read_text(encoding="utf-8"), path.stat()) for path in catalogs}
        super().handle(*args, **options)
        # A run that found nothing new leaves a catalog as it was, date and mtime included, so
        # that it is not recompiled and git sees no change.
        for path, (text, stat) in before.items():
            if _without_date(path.read_text(encoding="utf-8")) == _without_date(text):
                path.write_text(text, encoding="utf-8")
                os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

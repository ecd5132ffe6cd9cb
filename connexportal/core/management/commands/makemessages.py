"""Django's makemessages with this project's options built in.

``python manage.py makemessages -a`` then always writes the same catalogs, whoever runs it,
and tests/core/test_i18n.py runs this very command to check that the catalogs are up to date.
"""

from __future__ import annotations

from django.core.management.commands import makemessages

# Never translated: the sandbox imitates Connex, which answers in English; tests and
# benchmarks are not shown to users; the others are installed or generated files.
IGNORED = [".venv", "staticfiles", "node_modules", "connexportal/sandbox", "tests", "bench"]


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
        return super().handle(*args, **options)

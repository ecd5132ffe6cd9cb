"""The translation catalogs: complete, up to date with the code, compiled.

English is the source language (the msgids); every other language in settings.LANGUAGES has a
catalog under locale/ that must translate every string the code marks. Pages in those
languages: tests/portal/test_languages.py.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command

from connexportal.connex import routes
from connexportal.portal import labels

PROJECT_DIR = Path(__file__).resolve().parents[2]
LOCALE_DIR = PROJECT_DIR / "locale"
TRANSLATED = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]

# printf-style (%(name)s, %d) and, where flagged, brace-style ({name}) placeholders.
PRINTF = re.compile(r"%(?:\((\w+)\))?[#0\- +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")
BRACES = re.compile(r"\{(\w*)\}")


def catalog_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / "django.po"


def describe(entry: polib.POEntry) -> str:
    where = ", ".join(sorted({path for path, _line in entry.occurrences})) or "?"
    context = f"[{entry.msgctxt}] " if entry.msgctxt else ""
    return f"{context}{entry.msgid!r} ({where})"


def placeholders(entry: polib.POEntry, text: str) -> list[str]:
    found = [match.group(0) for match in PRINTF.finditer(text) if match.group(0) != "%%"]
    if "python-brace-format" in entry.flags:
        found += [match.group(0) for match in BRACES.finditer(text)]
    return sorted(found)


def translations(entry: polib.POEntry) -> list[tuple[str, str]]:
    """(source, translation) pairs: the singular and plural forms each against their msgid."""
    if not entry.msgid_plural:
        return [(entry.msgid, entry.msgstr)]
    return [
        (entry.msgid if index == 0 else entry.msgid_plural, text) for index, text in sorted(entry.msgstr_plural.items())
    ]


def test_every_language_but_english_has_a_catalog():
    assert TRANSLATED, "settings.LANGUAGES lists no language besides English"
    missing = [str(catalog_path(code)) for code in TRANSLATED if not catalog_path(code).is_file()]
    assert not missing, f"no catalog for {missing}: run `make messages`"


@pytest.mark.parametrize("code", TRANSLATED)
def test_catalog_is_complete(code):
    po = polib.pofile(str(catalog_path(code)))
    assert not po.metadata_is_fuzzy, "the catalog's header is marked fuzzy: msgfmt would drop its plural forms"
    assert po.metadata.get("Language") == code
    nplurals = int(re.search(r"nplurals=(\d+)", po.metadata["Plural-Forms"]).group(1))
    problems = []
    for entry in po:
        if entry.obsolete:
            continue
        if entry.fuzzy:
            problems.append(f"fuzzy (check the translation, then remove the flag): {describe(entry)}")
            continue
        if entry.msgid_plural and len(entry.msgstr_plural) != nplurals:
            problems.append(f"{len(entry.msgstr_plural)} plural forms instead of {nplurals}: {describe(entry)}")
        for source, text in translations(entry):
            if not text.strip():
                problems.append(f"not translated: {describe(entry)}")
                break
            if placeholders(entry, source) != placeholders(entry, text):
                problems.append(
                    f"placeholders {placeholders(entry, text)} instead of {placeholders(entry, source)}: "
                    f"{describe(entry)} -> {text!r}"
                )
    assert not problems, f"{catalog_path(code)}:\n" + "\n".join(problems)


def test_catalogs_have_every_string_the_code_marks(tmp_path, settings, monkeypatch):
    """makemessages over a copy of the code: a string added without translating it fails here, by name."""
    for name in ("connexportal", "templates"):
        shutil.copytree(PROJECT_DIR / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(LOCALE_DIR, tmp_path / "locale", ignore=shutil.ignore_patterns("*.mo"))
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    monkeypatch.chdir(tmp_path)
    call_command("makemessages", locale=TRANSLATED, verbosity=0)

    def keys(po):
        return {(entry.msgctxt, entry.msgid): entry for entry in po if not entry.obsolete}

    for code in TRANSLATED:
        committed = keys(polib.pofile(str(catalog_path(code))))
        fresh = keys(polib.pofile(str(tmp_path / "locale" / code / "LC_MESSAGES" / "django.po")))
        missing = [describe(entry) for key, entry in fresh.items() if key not in committed]
        assert not missing, (
            f"{catalog_path(code)} lacks strings the code marks for translation; run `make messages`, "
            "translate them, and commit the catalogs:\n" + "\n".join(missing)
        )


@pytest.mark.parametrize("code", TRANSLATED)
def test_compiled_catalog_is_current(code):
    po = catalog_path(code)
    mo = po.with_suffix(".mo")
    assert mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime, (
        f"{mo} is missing or older than its .po: `make test` and `make run` compile the catalogs "
        "(or run `manage.py compilemessages --ignore=.venv`)"
    )


def test_portal_labels_cover_every_connex_code():
    assert labels.PRODUCT_TYPES.keys() == routes.PRODUCT_TYPES.keys()
    assert labels.TASK_TYPES.keys() == routes.TASK_TYPES.keys()
    assert labels.SUMMARY_GROUP_BY.keys() == routes.SUMMARY_GROUP_BY.keys()
    assert labels.RUN_STATUSES.keys() == {status.lower() for status in routes.TASK_STATUSES}
    assert labels.CHANNELS.keys() <= routes.CONNECTION_TYPES.keys()

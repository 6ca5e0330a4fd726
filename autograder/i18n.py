"""Every sentence a student reads, in the course's language (`language:` in assignment.yaml).

The sentences are gettext messages: marked with `_()` in the code, extracted and compiled with
Babel (`make catalogs`) into `autograder/locale/<language>/LC_MESSAGES/autograder.mo`. Grading
one submission happens inside `with language(config.language):`, so the checks deep in a hidden
test word their failures for that course without every function passing the language along.
"""
from __future__ import annotations

import contextvars
import functools
import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DOMAIN = "autograder"
LOCALE = Path(__file__).parent / "locale"
SOURCE_LANGUAGE = "en"
LANGUAGES = ("en", "ko")  # the languages whose catalog is complete (tests/test_i18n.py)

_current = contextvars.ContextVar("autograder_language", default=SOURCE_LANGUAGE)


@functools.cache
def translations(code: str) -> gettext.NullTranslations:
    """The compiled catalog of one language (English, the source language, needs none)."""
    if code == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    if code not in LANGUAGES:
        raise ValueError(f"no messages for language '{code}' (known: {', '.join(LANGUAGES)})")
    return gettext.translation(DOMAIN, localedir=str(LOCALE), languages=[code])


def _(message: str) -> str:
    """`message` in the current language."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, count)


def current() -> str:
    return _current.get()


@contextmanager
def language(code: str) -> Iterator[None]:
    """Word everything said inside the block in language `code`."""
    token = _current.set(code)
    try:
        yield
    finally:
        _current.reset(token)

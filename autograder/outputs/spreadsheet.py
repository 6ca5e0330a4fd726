"""Text a spreadsheet shows as text, for every CSV the grader writes (grades.csv, exported scores)."""
from __future__ import annotations

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
# A leading apostrophe is itself marked, so that reading back is exact: a student's file named
# "'=1.ipynb" and another's named "=1.ipynb" stay two names in every CSV.
_MARKED = (*_FORMULA_STARTS, "'")


def spreadsheet_text(text: str) -> str:
    """Text a spreadsheet shows as text: one starting with = + - @ or a tab/return would be read as a
    formula (`=cmd|' calc'!A0`), so it gets a leading apostrophe (OWASP's advice for CSV injection);
    so does one that starts with an apostrophe, so that `plain_text` undoes it exactly."""
    return "'" + text if text[:1] in _MARKED else text


def plain_text(text: str) -> str:
    """spreadsheet_text undone: what a cell read back from such a CSV said."""
    return text[1:] if text[:1] == "'" and text[1:2] in _MARKED else text

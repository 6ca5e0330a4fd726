"""Text a spreadsheet shows as text, for every CSV the grader writes (grades.csv, exported scores)."""
from __future__ import annotations

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def spreadsheet_text(text: str) -> str:
    """Text a spreadsheet shows as text: one starting with = + - @ or a tab/return would be read as a
    formula (`=cmd|' calc'!A0`), so it gets a leading apostrophe (OWASP's advice for CSV injection)."""
    return "'" + text if text[:1] in _FORMULA_STARTS else text


def plain_text(text: str) -> str:
    """spreadsheet_text undone: what a cell read back from such a CSV said."""
    return text[1:] if text[:1] == "'" and text[1:2] in _FORMULA_STARTS and text[1:2] != "" else text

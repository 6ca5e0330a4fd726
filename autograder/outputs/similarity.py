"""Answer code compared after normalising names and whitespace, to spot suspiciously alike pairs.

Renaming variables, reformatting and adding comments do not hide a copy: each answer becomes a
token stream in which every name (other than keywords, builtins and attributes) becomes the same
placeholder, and streams are compared by their shared 8-token shingles.
"""
from __future__ import annotations

import builtins
import io
import keyword
import tokenize
from itertools import combinations

_KEEP = set(keyword.kwlist) | set(dir(builtins))
_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
         tokenize.ENCODING, tokenize.ENDMARKER}
SHINGLE = 8


def fingerprint(sources: list[str]) -> str:
    """The normalised token stream of a submission's answer cells, as one string."""
    out: list[str] = []
    for source in sources:
        previous = ""
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
        except (tokenize.TokenError, IndentationError, SyntaxError):
            tokens = []
        for token in tokens:
            if token.type in _SKIP:
                continue
            text = token.string
            if token.type == tokenize.NAME and text not in _KEEP and previous != ".":
                text = "v"
            out.append(text)
            previous = token.string
    return " ".join(out)


def similar_pairs(prints: dict[str, str], threshold: float = 0.9, most: int = 20) -> list[tuple[float, str, str]]:
    """Pairs of submissions whose answers share at least `threshold` of their shingles, most alike first."""
    shingles = {}
    for name, text in prints.items():
        tokens = text.split()
        if len(tokens) >= 3 * SHINGLE:  # too little code to say anything
            shingles[name] = {tuple(tokens[i:i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1)}
    pairs = []
    for a, b in combinations(sorted(shingles), 2):
        union = len(shingles[a] | shingles[b])
        score = len(shingles[a] & shingles[b]) / union if union else 0.0
        if score >= threshold:
            pairs.append((round(score, 3), a, b))
    return sorted(pairs, key=lambda pair: (-pair[0], pair[1], pair[2]))[:most]

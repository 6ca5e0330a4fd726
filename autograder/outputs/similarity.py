"""Answers compared between submissions, to find the pairs that stand out as copies without
accusing honest students of sharing the code everyone was handed.

Each answer cell becomes a token stream in which every name (other than keywords, builtins and
attributes) is the same placeholder, so renaming, reformatting and comments hide nothing; streams
are compared by their 8-token shingles. As MOSS does with a base file, shingles of the handed-out
code are removed first, and so are shingles most of the batch shares (the obvious way to write a
line). Answers with too little left are not compared. A pair is shown only when its share of
common shingles is high and stands out from the batch's other pairs.
"""
from __future__ import annotations

import builtins
import io
import keyword
import statistics
import tokenize
from collections import Counter
from dataclasses import dataclass
from itertools import combinations

_KEEP = set(keyword.kwlist) | set(dir(builtins))
_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
         tokenize.ENCODING, tokenize.ENDMARKER}
SHINGLE = 8
MIN_SHINGLES = 6        # an answer with fewer shingles of its own is too short to tell
MAX_TOKENS = 20_000     # per submission: bounds the cost of a huge notebook
MIN_COMPARED = 12       # a pair is judged only on at least this many shingles (union)


@dataclass(frozen=True)
class Pair:
    score: float      # shared shingles / all shingles of the answers both wrote, handed-out code removed
    a: str
    b: str
    answers: int      # how many answers were compared


def tokens(source: str) -> list[str]:
    """The normalised token stream of one cell."""
    out: list[str] = []
    previous = ""
    try:
        found = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        found = []
    for token in found:
        if token.type in _SKIP:
            continue
        text = token.string
        if token.type == tokenize.NAME and text not in _KEEP and previous != ".":
            text = "v"
        out.append(text)
        previous = token.string
    return out


def shingles(stream: list[str]) -> set[tuple[str, ...]]:
    return {tuple(stream[i:i + SHINGLE]) for i in range(len(stream) - SHINGLE + 1)}


def answer_shingles(answers: dict[str, str], base: set[tuple[str, ...]]) -> dict[str, set[tuple[str, ...]]]:
    """Cell -> its shingles without the handed-out code's, for the cells with enough left to tell."""
    kept, budget = {}, MAX_TOKENS
    for cell, source in answers.items():
        stream = tokens(source)[:budget]
        budget -= len(stream)
        own = shingles(stream) - base
        if len(own) >= MIN_SHINGLES:
            kept[cell] = own
        if budget <= 0:
            break
    return kept


def similar_pairs(submissions: dict[str, dict[str, str]], handout: list[str], threshold: float = 0.6,
                  most: int = 20) -> list[Pair]:
    """Pairs of submissions (name -> cell -> answer code) whose answers stand out as alike, most alike first."""
    base: set[tuple[str, ...]] = set()
    for source in handout:
        base |= shingles(tokens(source))
    prints = {name: answer_shingles(answers, base) for name, answers in submissions.items()}
    common = _common(prints)
    prints = {name: {cell: own - common.get(cell, set()) for cell, own in cells.items()} for name, cells in prints.items()}
    scored = []
    for a, b in combinations(sorted(prints), 2):
        shared = union = compared = 0
        for cell in prints[a].keys() & prints[b].keys():
            x, y = prints[a][cell], prints[b][cell]
            if len(x) < MIN_SHINGLES or len(y) < MIN_SHINGLES:
                continue
            both = len(x & y)
            shared += both
            union += len(x) + len(y) - both
            compared += 1
        if union >= MIN_COMPARED:
            scored.append(Pair(round(shared / union, 3), a, b, compared))
    return sorted(_standing_out(scored, threshold), key=lambda p: (-p.score, p.a, p.b))[:most]


def _common(prints: dict[str, dict[str, set]]) -> dict[str, set]:
    """Per cell, the shingles more than half of the batch (and more than two submissions) wrote."""
    counts: dict[str, Counter] = {}
    for cells in prints.values():
        for cell, own in cells.items():
            counts.setdefault(cell, Counter()).update(own)
    limit = max(2, len(prints) // 2)
    return {cell: {s for s, n in counter.items() if n > limit} for cell, counter in counts.items()}


def _standing_out(pairs: list[Pair], threshold: float) -> list[Pair]:
    """Pairs above `threshold` that are also far above the batch's typical pair (median and spread)."""
    high = [p for p in pairs if p.score >= threshold]
    if len(pairs) < 6:
        return high  # too few pairs to know what is typical here
    scores = [p.score for p in pairs]
    middle = statistics.median(scores)
    spread = statistics.median(abs(s - middle) for s in scores) * 1.4826
    return [p for p in high if p.score >= middle + 4 * max(spread, 0.05)]

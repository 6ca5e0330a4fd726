"""The source-notebook marker syntax: one solution cell -> its student and solution sources.

Markers are comments, so the source notebook runs as is in Jupyter:

    query = inputs[1]                 # SOLUTION          -> query = ### your code
    b, n, d = x.shape                 # SOLUTION LINE     -> ### your code
    [Head() for _ in range(h)]        # SOLUTION PROMPT []  -> [] ### your code
    ### BEGIN SOLUTION / ### END SOLUTION                 -> ### your code (one line for the block)
    print(debug)                      # SOLUTION ONLY     (line kept in the solution only)
    x = None                          # STUDENT ONLY      (line kept in the student version only)
    # SOLUTION ONLY  /  # STUDENT ONLY as a cell's first line: the whole cell for one version.
"""
from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass

from ..notebooks import PLACEHOLDER

SOLUTION_ONLY = "SOLUTION ONLY"
STUDENT_ONLY = "STUDENT ONLY"
BOTH = "both"

_BEGIN = "### BEGIN SOLUTION"
_END = "### END SOLUTION"
# A marker is the line's last comment; `rest` must not contain another '#'.
_LINE_MARKER = re.compile(r"^(?P<code>.*?)\s*#\s*(?P<kind>SOLUTION|STUDENT)\b(?P<rest>[^#]*)$")
_AUGMENTED = {"+=", "-=", "*=", "/=", "//=", "%=", "**=", "@=", "&=", "|=", "^=", ">>=", "<<="}


class MarkerProblem(Exception):
    """A marker mistake at a 1-based line of the cell; the notebook compiler adds file and cell."""

    def __init__(self, line: int, message: str):
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}")


@dataclass(frozen=True)
class CompiledCode:
    """A code cell in both versions. `solution_lines[i]` is the source line of solution line i+1."""

    audience: str
    student: str
    solution: str
    solution_lines: tuple[int, ...]


def cell_audience(source: str) -> tuple[str, str]:
    """Read a `# SOLUTION ONLY` / `# STUDENT ONLY` first line; return (audience, source without it)."""
    first, _, rest = source.partition("\n")
    directive = first.strip().lstrip("#").strip()
    if first.strip().startswith("#") and directive in (SOLUTION_ONLY, STUDENT_ONLY):
        return directive, rest
    return BOTH, source


def compile_code(source: str) -> CompiledCode:
    """Split one code cell's source into its student and solution versions."""
    audience, body = cell_audience(source)
    offset = 1 if audience != BOTH else 0
    student: list[str] = []
    solution: list[str] = []
    solution_lines: list[int] = []
    block_start: int | None = None
    block_has_code = False

    for number, line in enumerate(body.split("\n"), start=1 + offset):
        stripped = line.strip()
        if stripped.startswith("#") and stripped.lstrip("#").strip() in (SOLUTION_ONLY, STUDENT_ONLY):
            raise MarkerProblem(number, f"'{stripped}' on a line of its own only works as the cell's first line")
        if stripped == _BEGIN or stripped.startswith(_BEGIN + " "):
            if block_start is not None:
                raise MarkerProblem(number, f"'{_BEGIN}' inside the block opened at line {block_start}; "
                                            f"close it first with '{_END}'")
            if stripped != _BEGIN:
                raise MarkerProblem(number, f"'{_BEGIN}' takes nothing after it on the line")
            block_start, block_has_code = number, False
            student.append(_indent(line) + PLACEHOLDER)
            continue
        if stripped == _END:
            if block_start is None:
                raise MarkerProblem(number, f"'{_END}' without a '{_BEGIN}' before it")
            if not block_has_code:
                raise MarkerProblem(block_start, "the solution block has no code to remove; put the solution between the markers")
            block_start = None
            continue
        if PLACEHOLDER in line and not line.rstrip().endswith(STUDENT_ONLY):
            raise MarkerProblem(number, f"'{PLACEHOLDER}' belongs in the student version only; "
                                        "write the solution here and mark it with '# SOLUTION'")
        if block_start is not None:
            if _LINE_MARKER.match(line):
                raise MarkerProblem(number, f"a line marker inside the solution block opened at line {block_start}")
            block_has_code = block_has_code or bool(stripped)
            solution.append(line)
            solution_lines.append(number)
            continue
        match = _LINE_MARKER.match(line)
        if match is None:
            student.append(line)
            solution.append(line)
            solution_lines.append(number)
            continue
        code = match["code"].rstrip()
        kind = f"{match['kind']} {match['rest'].strip()}".strip()
        if kind == STUDENT_ONLY:
            student.append(code)
            continue
        if not code.strip():
            raise MarkerProblem(number, f"'# {kind}' marks a line with no code to remove")
        solution.append(code)
        solution_lines.append(number)
        if kind == SOLUTION_ONLY:
            continue
        student.append(_student_line(code, kind, number))

    if block_start is not None:
        raise MarkerProblem(block_start, f"'{_BEGIN}' is never closed; add '{_END}' after the solution")
    return CompiledCode(audience, "\n".join(student), "\n".join(solution), tuple(solution_lines))


def _student_line(code: str, kind: str, number: int) -> str:
    indent = _indent(code)
    if kind == "SOLUTION LINE":
        return indent + PLACEHOLDER
    if kind.startswith("SOLUTION PROMPT"):
        prompt = kind[len("SOLUTION PROMPT"):].strip()
        if not prompt:
            raise MarkerProblem(number, "'# SOLUTION PROMPT' needs the text to keep, e.g. '# SOLUTION PROMPT []'")
        return f"{indent}{prompt} {PLACEHOLDER}"
    if kind != "SOLUTION":
        raise MarkerProblem(number, f"unknown marker '# {kind}' (known: SOLUTION, SOLUTION LINE, "
                                    "SOLUTION PROMPT <text>, SOLUTION ONLY, STUDENT ONLY)")
    head = _kept_head(code.strip(), number)
    return f"{indent}{head} {PLACEHOLDER}" if head else indent + PLACEHOLDER


def _kept_head(statement: str, number: int) -> str | None:
    """The part of `x = ...`, `x += ...` or `return ...` that stays; None hides the whole statement."""
    if statement == "return":
        raise MarkerProblem(number, "'return # SOLUTION' has no value to remove")
    if statement.startswith("return ") or statement.startswith("return("):
        return "return"
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(statement).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        raise MarkerProblem(number, "the marked statement continues on the next line; "
                                    f"wrap all its lines in '{_BEGIN}' / '{_END}'") from None
    depth = 0
    for token in tokens:
        if token.type != tokenize.OP:
            continue
        if token.string in "([{":
            depth += 1
        elif token.string in ")]}":
            depth -= 1
        elif depth == 0 and (token.string == "=" or token.string in _AUGMENTED):
            head, value = statement[: token.end[1]], statement[token.end[1]:]
            if not value.strip():
                raise MarkerProblem(number, f"nothing after '{token.string}' to remove")
            return head
    return None


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def find_markers(text: str) -> list[tuple[int, str]]:
    """Markers in text that must not carry any (a markdown cell): (line, marker) pairs."""
    found = []
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        match = _LINE_MARKER.match(line)
        if PLACEHOLDER in re.sub(r"`[^`]*`", "", line):  # prose may name it as `### your code`
            found.append((number, PLACEHOLDER))
        elif stripped.startswith((_BEGIN, _END)):
            found.append((number, stripped))
        elif match and (match["code"].strip() or stripped.lstrip("#").strip() in (SOLUTION_ONLY, STUDENT_ONLY)):
            found.append((number, f"# {match['kind']}{match['rest'].rstrip()}"))
    return found

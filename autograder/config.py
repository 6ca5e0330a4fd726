"""assignment.yaml -> typed, frozen settings; every mistake is reported with its file and line."""
from __future__ import annotations

import dataclasses
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import ConfigError, Location
from .i18n import LANGUAGES

CONFIG_NAME = "assignment.yaml"


@dataclass(frozen=True)
class Limits:
    """Resource limits for executing a notebook (the solution at build time, submissions when grading)."""

    cell_seconds: float = 60.0
    notebook_seconds: float = 600.0
    memory_mb: int = 2048
    output_kb: int = 1024
    # CPU time, not wall time, of each probe (a test's call into the notebook's code): a loaded
    # machine slows a probe down without changing its verdict. The probes after a cell share that
    # cell's wall-time limit.
    probe_seconds: float = 10.0


@dataclass(frozen=True)
class Question:
    """A graded question: hidden tests mark themselves with its id; points are split among them."""

    id: str
    name: str
    points: float
    # Graded by hand on the review page (`autograder review`): the TA reads the cells listed in
    # `cells` (ids in the source notebook) against the `rubric`.
    manual: bool = False
    rubric: str = ""
    cells: tuple[str, ...] = ()
    # With hidden tests too: the share of `points` the TA gives (the tests share the rest). 0: all of them.
    manual_points: float = 0.0

    @property
    def hand_points(self) -> float:
        """The points a TA gives (0 for a question graded by tests alone)."""
        return (self.manual_points or self.points) if self.manual else 0.0

    @property
    def test_points(self) -> float:
        """The points the hidden tests share."""
        return self.points - self.hand_points


@dataclass(frozen=True)
class Resource:
    """A file the assignment needs that is downloaded once (`autograder fetch`): pretrained weights, a data set."""

    name: str  # how the notebook opens it, in its own folder
    url: str
    sha256: str


@dataclass(frozen=True)
class AssignmentConfig:
    """Per-assignment settings written by the instructor."""

    title: str
    # Keep the solution's outputs under each cell of the student notebook, as the lab does,
    # so students see what their code should print.
    student_outputs: bool = False
    # Number the executed cells of the solution notebook (1, 2, ...) or leave them blank.
    solution_execution_counts: bool = True
    # Seeds the hidden tests use to make inputs the student never saw.
    seeds: tuple[int, ...] = (0, 1, 2)
    # Add `grader.check("q1")` cells to the student notebook, with the visible checks they can run.
    notebook_checks: bool = False
    # The language of every sentence the grader writes for students (feedback, checks, Gradescope).
    language: str = "en"
    # Cells holding the lesson's data and seeds: the grader runs each submission a second time with
    # their literal tensors and seeds replaced by its own, and re-checks the steps that depend on them.
    lesson_data: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    questions: tuple[Question, ...] = ()
    # Modules beyond the package's own the notebook imports (`matplotlib.pyplot`, `tiktoken`): each must
    # be installed (pyproject.toml's `course` extra) and is imported once by the workers' fork server.
    packages: tuple[str, ...] = ()
    # Files downloaded once into the course's cache and shown read-only beside the notebook.
    resources: tuple[Resource, ...] = ()

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)


def load_config(path: Path) -> AssignmentConfig:
    """Read and validate an assignment.yaml."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, f"missing; every assignment needs an {CONFIG_NAME} with at least a title") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(Location(path, line=line), f"invalid YAML: {problem}") from None
    if node is None:
        raise ConfigError(path, "empty; it needs at least a title")
    return _build(AssignmentConfig, node, path, "")


def _build(cls: type, node: yaml.Node, path: Path, prefix: str):
    """Turn a YAML mapping node into dataclass `cls`, checking keys and types against its fields."""
    if not isinstance(node, yaml.MappingNode):
        where = f"'{prefix.rstrip('.')}'" if prefix else "the top level"
        raise ConfigError(_loc(path, node), f"{where} must be a mapping of keys to values")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    values = {}
    for key_node, value_node in node.value:
        key = key_node.value
        name = f"{prefix}{key}"
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(_loc(path, key_node), f"unknown key '{name}' (known keys: {known})")
        if key in values:
            raise ConfigError(_loc(path, key_node), f"key '{name}' is given twice")
        values[key] = _convert(hints[key], value_node, path, name)
    missing = [
        name for name, f in fields.items()
        if name not in values and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(_loc(path, node), f"missing required key '{prefix}{missing[0]}'")
    if cls is AssignmentConfig:
        _check_questions(values.get("questions", ()), node, path)
        _check_resources(values.get("resources", ()), node, path)
        _check_language(values.get("language", "en"), node, path)
    if cls is Limits:
        _check_limits(values, node, path)
    return cls(**values)


def _check_questions(questions: tuple[Question, ...], node: yaml.MappingNode, path: Path) -> None:
    items: list[yaml.Node] = next((value.value for key, value in node.value if key.value == "questions"), [])
    seen: set[str] = set()
    for question, item in zip(questions, items):
        if question.id in seen:
            raise ConfigError(_loc(path, item), f"question id '{question.id}' is used twice")
        if question.points <= 0:
            raise ConfigError(_loc(path, item), f"question '{question.id}' must be worth more than 0 points")
        _check_manual(question, _loc(path, item))
        seen.add(question.id)


def _check_limits(values: dict, node: yaml.MappingNode, path: Path) -> None:
    for key, value in values.items():
        if value <= 0:
            item = next(v for k, v in node.value if k.value == key)
            raise ConfigError(_loc(path, item), f"limits.{key} must be more than 0 (it is {value})")
    probe, cell = values.get("probe_seconds"), values.get("cell_seconds", Limits.cell_seconds)
    if probe is not None and probe > cell:
        item = next(v for k, v in node.value if k.value == "probe_seconds")
        raise ConfigError(_loc(path, item), f"limits.probe_seconds ({probe:g}) is more than limits.cell_seconds "
                                            f"({cell:g}): the probes after a cell share that cell's time")


def _check_language(code: str, node: yaml.MappingNode, path: Path) -> None:
    if code not in LANGUAGES:
        item = next(value for key, value in node.value if key.value == "language")
        raise ConfigError(_loc(path, item), f"language '{code}' has no message catalog (known: {', '.join(LANGUAGES)})")


def _check_manual(question: Question, where: Location) -> None:
    """A hand-graded question names its answer cells; the hand-graded keys mean nothing without `manual: true`."""
    if not question.manual:
        extra = [key for key, unset in (("rubric", ""), ("cells", ()), ("manual_points", 0.0))
                 if getattr(question, key) != unset]
        if extra:
            raise ConfigError(where, f"question '{question.id}' has '{extra[0]}' but is not graded by hand; "
                                     "add 'manual: true' or remove it")
        return
    if not question.cells:
        raise ConfigError(where, f"question '{question.id}' is graded by hand but lists no answer cells; "
                                 "add 'cells: [<cell id>, ...]' with the ids of the cells the TA reads")
    if not 0 <= question.manual_points <= question.points:
        raise ConfigError(where, f"question '{question.id}': manual_points must be between 0 and its points "
                                 f"({question.points:g})")


def _check_resources(resources: tuple[Resource, ...], node: yaml.MappingNode, path: Path) -> None:
    items: list[yaml.Node] = next((value.value for key, value in node.value if key.value == "resources"), [])
    seen: set[str] = set()
    for resource, item in zip(resources, items):
        if not re.fullmatch(r"\w[\w.-]*", resource.name) or resource.name in seen:
            raise ConfigError(_loc(path, item), f"resource name '{resource.name}' must be a plain file name "
                                                "(letters, digits, '.', '-', '_'), used once")
        if not re.fullmatch(r"https?://\S+", resource.url):
            raise ConfigError(_loc(path, item), f"resource '{resource.name}': url must start with http:// or https://")
        if not re.fullmatch(r"[0-9a-f]{64}", resource.sha256):
            raise ConfigError(_loc(path, item), f"resource '{resource.name}': sha256 must be 64 lowercase hex digits "
                                                "(as `sha256sum` prints them)")
        seen.add(resource.name)


def _convert(hint, node: yaml.Node, path: Path, name: str):
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, node, path, f"{name}.")
    if typing.get_origin(hint) is tuple:
        item_type = typing.get_args(hint)[0]
        if not isinstance(node, yaml.SequenceNode):
            raise ConfigError(_loc(path, node), f"'{name}' must be a list")
        return tuple(_convert(item_type, item, path, name) for item in node.value)
    return _scalar(hint, node, path, name)


def _scalar(hint: type, node: yaml.Node, path: Path, name: str):
    value = yaml.SafeLoader(" ").construct_object(node, deep=True) if isinstance(node, yaml.ScalarNode) else None
    ok = (
        isinstance(node, yaml.ScalarNode)
        and isinstance(value, hint if hint is not float else (int, float))
        and not (hint is not bool and isinstance(value, bool))
    )
    if not ok:
        shown = node.value if isinstance(node, yaml.ScalarNode) else f"a {getattr(node, 'id', 'value')}"
        raise ConfigError(_loc(path, node), f"'{name}' must be {_type_name(hint)}, got {shown!r}")
    return float(value) if hint is float else value  # type: ignore[arg-type]  # checked to be a number above


def _type_name(hint: type) -> str:
    return {bool: "true or false", int: "a whole number", float: "a number", str: "text"}.get(hint, hint.__name__)


def _loc(path: Path, node: yaml.Node) -> Location:
    return Location(path, line=node.start_mark.line + 1)

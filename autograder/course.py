"""Where a course's files live: the one definition every command uses (no nbclient, no torch)."""
from __future__ import annotations

import importlib.machinery
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from .config import CONFIG_NAME, Resource
from .errors import AutograderError
from .files import sha256_of

SOURCE_NAME = "source.ipynb"
PROBES_NAME = "probes.py"
CACHE = Path(".cache") / "references"
RESOURCES = Path(".cache") / "resources"


@dataclass(frozen=True)
class Layout:
    """Where an assignment's files live, relative to the course repository root."""

    root: Path
    slug: str

    @property
    def folder(self) -> Path:
        return self.root / "assignments" / self.slug

    @property
    def source(self) -> Path:
        return self.folder / SOURCE_NAME

    @property
    def config(self) -> Path:
        return self.folder / CONFIG_NAME

    @property
    def student(self) -> Path:
        return self.folder / f"{self.slug}.ipynb"

    @property
    def checks(self) -> Path:
        """The visible checks handed out with the student notebook (`notebook_checks: true`)."""
        return self.folder / f"{self.slug}_checks.json"

    @property
    def solution(self) -> Path:
        return self.root / "solutions" / f"{self.slug}.ipynb"

    @property
    def graders(self) -> Path:
        return self.root / "graders" / self.slug

    @property
    def probes(self) -> Path:
        return self.graders / PROBES_NAME

    def generated_or_private(self) -> set[str]:
        """Names in the assignment folder that are not handed out as files: the solution source, the
        settings, and what the build writes."""
        return {SOURCE_NAME, CONFIG_NAME, self.student.name, self.checks.name}

    def assignment_files(self) -> list[Path]:
        """The assignment's own files (data, helper modules, images): everything in its folder but the
        source, the settings, generated notebooks, hidden entries and Python caches. Workers see them,
        read-only, in their working folder; the handout carries them."""
        if not self.folder.is_dir():
            return []
        skipped = self.generated_or_private()
        return sorted(p for p in self.folder.iterdir()
                      if p.name not in skipped and not p.name.startswith(".") and p.name != "__pycache__")

    def grader_sources(self) -> list[Path]:
        """The hidden tests' Python files: probes.py, test_*.py and any helper beside them."""
        return sorted(self.graders.glob("*.py"))

    @property
    def resources(self) -> Path:
        """Downloaded resources, by their SHA-256 (`autograder fetch`)."""
        return self.root / RESOURCES

    @property
    def cache(self) -> Path:
        """Reference values computed from the solution, per torch build."""
        return self.root / CACHE


def course_files(layout: Layout, resources: tuple[Resource, ...] = ()) -> dict[str, Path]:
    """What a worker sees beside the notebook, by name: the assignment's files, then its downloaded
    resources, each checked to be in the cache with its SHA-256."""
    files = {path.name: path for path in layout.assignment_files()}
    for resource in resources:
        if resource.name in files:
            raise AutograderError(layout.config, f"resource '{resource.name}' has the name of a file in the assignment "
                                                 "folder; rename one of them")
        path = layout.resources / resource.sha256
        if not path.is_file():
            raise AutograderError(layout.config, f"resource '{resource.name}' is not downloaded yet; run "
                                                 f"'autograder fetch {layout.slug}'")
        if sha256_of(path) != resource.sha256:
            raise AutograderError(path, f"the cached copy of resource '{resource.name}' does not match its SHA-256 in "
                                        f"assignment.yaml; run 'autograder fetch {layout.slug}' again")
        files[resource.name] = path
    return files


def check_packages(layout: Layout, packages: tuple[str, ...]) -> None:
    """Every package an assignment names is installed here, or an error naming it and what to do."""
    for name in packages:
        if not _installed(name):
            raise AutograderError(layout.config, f"assignment '{layout.slug}' needs the package '{name}', which is not "
                                                 "installed here; add it to the 'course' extra in pyproject.toml and "
                                                 "run 'make setup'")


def _installed(name: str) -> bool:
    """Whether module `name` (dotted) can be imported here, found without running any package's code."""
    parts = name.split(".")
    if not all(part.isidentifier() for part in parts):
        return False
    spec = importlib.util.find_spec(parts[0])
    for depth in range(2, len(parts) + 1):
        if spec is None or spec.submodule_search_locations is None:
            return False
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[:depth]), list(spec.submodule_search_locations))
    return spec is not None


def discover(root: Path) -> list[str]:
    """Slugs of all assignments (folders with an assignment.yaml), in name order."""
    folder = root / "assignments"
    return sorted(p.parent.name for p in folder.glob(f"*/{CONFIG_NAME}")) if folder.is_dir() else []


def resolve_slugs(root: Path, slugs: list[str]) -> list[str]:
    """The slugs asked for (all when none), each checked to exist."""
    known = discover(root)
    if not slugs:
        if not known:
            raise AutograderError(root / "assignments", f"no assignments found (expected assignments/<slug>/{CONFIG_NAME})")
        return known
    for slug in slugs:
        if slug not in known:
            raise AutograderError(Layout(root, slug).source,
                                  f"no assignment '{slug}' here (known: {', '.join(known) or 'none'})")
    return list(slugs)

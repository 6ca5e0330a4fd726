"""What this package needs installed, read from its own metadata (pyproject.toml is the one place
where the torch pin is written)."""
from __future__ import annotations

import importlib.metadata
import re

_TORCH = re.compile(r"^torch\s*==\s*[\w.+]+")


def torch_requirement() -> str:
    """The pinned torch requirement, e.g. 'torch==2.13.0' (an unpinned torch pulls a CUDA build)."""
    for requirement in importlib.metadata.requires("autograder") or []:
        match = _TORCH.match(requirement.replace(" ", ""))
        if match:
            return match.group(0)
    raise LookupError("the autograder package does not pin torch; pyproject.toml should say torch==<version>")

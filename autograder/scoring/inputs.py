"""The inputs and weights hidden tests use, made here in the grader and sent to every worker.

A worker ran student code, so a value it echoes back is a claim, not evidence: tests read the
inputs from `given` (the grader's own copy), never from what a probe returned. Patching
`torch.randn` or `torch.Generator` in a notebook changes nothing here.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import torch

from ..errors import AutograderError
from ..probes import load_probes
from ..protocol.plaindata import Inputs, encode


@dataclass(frozen=True)
class GraderInputs:
    """What probes.py's `@probes.grader_inputs` made: as plain data for jobs, and for tests."""

    data: dict = field(default_factory=dict)

    @cached_property
    def given(self) -> Inputs:
        """The inputs as values (decoded once for the whole batch), a fresh copy on every read."""
        return Inputs(self.data)

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.data, sort_keys=True).encode()).hexdigest()[:16]


def make_inputs(probes_path: Path, seeds: tuple[int, ...]) -> GraderInputs:
    """Run the assignment's input maker in this process, with torch's global generator left as it was."""
    maker = load_probes(str(probes_path)).maker
    if maker is None:
        return GraderInputs()
    state = torch.get_rng_state()
    try:
        made = maker(tuple(seeds))
    except Exception as exc:
        raise AutograderError(probes_path, f"the @probes.grader_inputs function failed: {type(exc).__name__}: {exc}") from None
    finally:
        torch.set_rng_state(state)
    if not isinstance(made, dict) or not all(isinstance(key, str) for key in made):
        raise AutograderError(probes_path, "the @probes.grader_inputs function must return a dict with text keys")
    return GraderInputs({name: encode(value) for name, value in made.items()})

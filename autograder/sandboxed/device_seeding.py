"""Seeding in workers without formatting a call stack for devices this torch was built without.

`torch.manual_seed` seeds CUDA, XPU and MTIA too. Before a device is initialised torch queues
the call together with the caller's formatted stack, which it reads only to explain a failed
initialisation; a torch built without that device fails before it runs the queue, so the stack
is never read. Formatting it made each seed cost ~190 us in a fresh worker (every frame's source
file is stat'ed), ~2 ms of a lab submission. The queue itself is kept, with an empty stack.
"""
from __future__ import annotations

import types

import torch


class _EmptyStacks(types.ModuleType):
    """Stands in for `traceback` inside a device module; that module only formats stacks with it."""

    @staticmethod
    def format_stack(*args, **kwargs) -> list[str]:
        return []


def _devices() -> list[tuple[str, types.ModuleType, bool]]:
    """(name, module, built with it) for each device torch seeds; a device whose module or check is
    missing in this torch is left out (torch's own code then runs for it, as without this)."""
    found = []
    for name in ("cuda", "xpu", "mtia"):
        try:
            module = getattr(torch, name)
            found.append((name, module, bool(module._is_compiled())))
        except Exception:
            continue
    return found


def install() -> list[str]:
    """Empty queued call stacks for every device this torch cannot use; returns their names."""
    done = []
    for name, module, compiled in _devices():
        if not compiled and isinstance(getattr(module, "traceback", None), types.ModuleType):
            module.traceback = _EmptyStacks("traceback")  # type: ignore[attr-defined]
            done.append(name)
    return done

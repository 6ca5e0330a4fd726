"""Seeding in workers: the same random numbers, without formatting stacks nobody reads."""
import traceback

import pytest
import torch

from autograder.sandboxed import device_seeding


@pytest.fixture
def restored():
    saved = {name: module.traceback for name, module, _ in device_seeding._devices()}
    yield
    for name, module, _ in device_seeding._devices():
        module.traceback = saved[name]


def test_seeding_formats_no_stack_and_draws_the_same_numbers(restored, monkeypatch):
    torch.manual_seed(11)
    before = torch.rand(5)
    assert device_seeding.install() == ["cuda", "xpu", "mtia"]  # this torch is a CPU build
    formatted = []
    monkeypatch.setattr(traceback, "format_stack", lambda *a, **k: formatted.append(1) or [])
    queued = len(torch.cuda._lazy_seed_tracker.get_calls())
    torch.manual_seed(11)
    assert torch.equal(torch.rand(5), before)
    assert formatted == []
    assert len(torch.cuda._lazy_seed_tracker.get_calls()) == queued  # the seed-all slot is replaced, as before


def test_without_it_seeding_formats_stacks(restored, monkeypatch):
    formatted = []
    monkeypatch.setattr(traceback, "format_stack", lambda *a, **k: formatted.append(1) or [])
    torch.manual_seed(11)
    assert len(formatted) == 3  # one for each device: what install() saves


def test_a_device_this_torch_was_built_with_keeps_its_stacks(restored, monkeypatch):
    devices = device_seeding._devices()
    monkeypatch.setattr(device_seeding, "_devices", lambda: [(name, module, name == "cuda") for name, module, _ in devices])
    assert device_seeding.install() == ["xpu", "mtia"]
    assert torch.cuda.traceback is traceback


@pytest.mark.parametrize("change", ["module removed", "check removed"])
def test_a_torch_without_a_device_module_or_its_check_is_left_alone(restored, monkeypatch, change):
    if change == "module removed":
        monkeypatch.delattr(torch, "mtia")
    else:
        monkeypatch.delattr(torch.mtia, "_is_compiled")
    assert device_seeding.install() == ["cuda", "xpu"]  # no error: the other devices are still done


def test_workers_seed_without_formatting_stacks(run_cells):
    source = ("import torch, traceback\ncalls = []\ntraceback.format_stack = lambda *a, **k: calls.append(1) or []\n"
              "torch.manual_seed(3)\nprint(len(calls), torch.rand(2).tolist())")
    result = run_cells(source)
    torch.manual_seed(3)
    assert result.cells[0].output == f"0 {torch.rand(2).tolist()}\n"

"""Values from a worker are plain JSON: tensors survive, lies and garbage do not."""
import json

import pytest
import torch

from autograder.protocol.plaindata import Inputs, Opaque, decode, dumps, encode


def roundtrip(value):
    return decode(json.loads(dumps(value)))


def test_tensors_numbers_and_containers_roundtrip():
    value = {"t": torch.tensor([[1.5, -2.0]]), "i": torch.arange(3), "b": torch.tensor([True]),
             "n": [1, 2.5, "x", None, True], "shape": torch.Size([2, 3])}
    back = roundtrip(value)
    assert torch.equal(back["t"], value["t"]) and back["t"].dtype == torch.float32
    assert torch.equal(back["i"], value["i"]) and torch.equal(back["b"], value["b"])
    assert back["n"] == [1, 2.5, "x", None, True] and back["shape"] == [2, 3]


def test_non_finite_values_survive():
    back = roundtrip(torch.tensor([float("inf"), float("-inf"), float("nan")]))
    assert back[0] == float("inf") and back[1] == float("-inf") and torch.isnan(back[2])


def test_a_lying_tensor_subclass_arrives_as_its_real_numbers():
    class AlwaysEqual(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return True

    back = roundtrip(torch.tensor([1.0, 2.0]).as_subclass(AlwaysEqual))
    assert type(back) is torch.Tensor and back.tolist() == [1.0, 2.0]


def test_objects_become_opaque_and_never_equal_real_values():
    class Liar:
        def __eq__(self, other):
            return True

    back = roundtrip(Liar())
    assert isinstance(back, Opaque) and back != torch.tensor(1.0) and back != 0


def test_every_dtype_shape_and_view_roundtrips_exactly():
    base = torch.randn(4, 6)
    for value in (base.bfloat16(), base.half(), base.double(), base > 0, (base * 10).to(torch.int8),
                  base[:, ::2], base.T, torch.tensor(2.5), torch.zeros(0, 3), torch.arange(6).view(2, 3)):
        back = roundtrip(value)
        assert back.dtype == value.dtype and back.shape == value.shape and torch.equal(back, value)


@pytest.mark.parametrize("data", [
    {"__tensor__": {"dtype": "float32", "shape": [2], "bytes": "AACAPw=="}},  # one float for a shape of two
    {"__tensor__": {"dtype": "evil", "shape": [1], "bytes": "AACAPw=="}},
    {"__tensor__": {"dtype": "float32", "shape": [1], "bytes": "__import__('os')"}},
    {"__tensor__": {"dtype": "float32", "shape": [1], "bytes": [1.0]}},
    {"__tensor__": {"dtype": "float32", "shape": [-1], "bytes": ""}},
    {"__tensor__": {"dtype": "float32", "shape": [100000, 100000], "bytes": ""}},
])
def test_malformed_data_is_rejected(data):
    with pytest.raises(ValueError):
        decode(data)


def _grader_inputs() -> Inputs:
    return Inputs({"x": encode(torch.arange(6.0).reshape(2, 3)),
                   "cases": encode([{"w": torch.ones(2), "n": 3}, torch.zeros(2)])})


def test_each_read_of_an_input_is_a_fresh_copy():
    """Inputs are decoded once; code that changes a read in place changes no later read."""
    inputs = _grader_inputs()
    first = inputs["x"]
    first.mul_(0)
    cases = inputs["cases"]
    cases[0]["w"].add_(5)
    cases[0]["n"] = -1
    cases.append("extra")
    assert torch.equal(inputs["x"], torch.arange(6.0).reshape(2, 3))
    again = inputs["cases"]
    assert len(again) == 2 and again[0]["n"] == 3
    assert torch.equal(again[0]["w"], torch.ones(2)) and torch.equal(again[1], torch.zeros(2))


def test_a_patched_tensor_clone_does_not_hand_out_the_kept_inputs(monkeypatch):
    """A notebook that makes Tensor.clone return its argument still gets copies it cannot spoil."""
    inputs = _grader_inputs()
    inputs["x"]  # decoded and kept before the patch, as in a worker that already read it
    monkeypatch.setattr(torch.Tensor, "clone", lambda self, *args, **kwargs: self)
    inputs["x"].fill_(7)
    monkeypatch.undo()
    assert torch.equal(inputs["x"], torch.arange(6.0).reshape(2, 3))


def test_an_unknown_input_is_named_with_those_there_are():
    with pytest.raises(LookupError, match="'y'.*cases, x"):
        _grader_inputs()["y"]

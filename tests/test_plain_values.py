"""expect_same on plain values: ints, floats, bools, None, text, lists, tuples, dicts, numpy arrays and
nesting, as they arrive from a worker (encoded to JSON and decoded), with the first difference named."""
import numpy as np
import pytest
import torch

from autograder.protocol.messages import ProbeResult
from autograder.protocol.plaindata import encode
from autograder.testing import Run, expect_same


def runs(got, expected):
    """The two values as the grader sees them: through the worker's encoding and back."""
    return (Run({"p": ProbeResult(True, encode(got))}), Run({"p": ProbeResult(True, encode(expected))}))


def fails(got, expected, what="value"):
    with pytest.raises(AssertionError) as raised:
        expect_same(*runs(got, expected), "p", what)
    return str(raised.value)


@pytest.mark.parametrize("value", [
    5, 0, -3, 2.5, True, False, None, "안녕하세요", "", [1, 2, 3], (1, "a"), [], {"a": 1, "b": [1.0, 2.0]},
    {"ids": [[1, 2], [3]], "text": "abc", "n": None}, np.arange(6).reshape(2, 3), torch.ones(2, 2), float("nan"),
    [torch.zeros(2), torch.ones(3)],
])
def test_equal_values_pass(value):
    expect_same(*runs(value, value), "p")


def test_floats_are_compared_within_tolerance():
    expect_same(*runs(0.30000001, 0.3), "p")
    assert fails(0.31, 0.3, "loss") == "loss: expected 0.3, got 0.31"


@pytest.mark.parametrize("got, expected, message", [
    (4, 5, "count: expected 5, got 4"),
    (5.0, 5, "count: expected the whole number 5, got float `5.0`"),
    (True, 1, "count: expected the whole number 1, got True"),
    ("5", 5, "count: expected the whole number 5, got str `'5'`"),
    (None, 5, "count: expected the whole number 5, got None"),
    (1, True, "count: expected True, got int `1`"),
    (False, True, "count: expected True, got False"),
    (0, None, "count: expected None, got int `0`"),
    (torch.ones(3), 3, "count: expected the whole number 3, got a tensor of shape (3,)"),
])
def test_scalars_of_the_wrong_value_or_kind_are_named(got, expected, message):
    assert fails(got, expected, "count") == message


def test_a_zero_dimensional_tensor_counts_as_its_number_and_back():
    expect_same(*runs(torch.tensor(124), 124), "p")
    expect_same(*runs(7.0, torch.tensor(7.0)), "p")
    assert "expected 124, got 123" in fails(torch.tensor(123), 124)


def test_the_first_differing_item_of_a_list_is_named_by_its_index():
    assert fails([5, 1, 9, 9], [5, 1, 2, 3], "token_ids") == "token_ids[2]: expected 2, got 9"
    assert fails([[1, 2], [3, 4]], [[1, 2], [3, 5]], "batch") == "batch[1][1]: expected 5, got 4"
    assert fails((1, 2), [1, 2, 3], "ids") == "ids: expected 3 items, got 2"
    assert fails("1 2 3", [1, 2, 3], "ids") == "ids: expected a list of 3 items, got str `'1 2 3'`"


def test_dicts_name_the_missing_extra_or_differing_key():
    assert fails({"a": 1}, {"a": 1, "b": 2}, "vocab") == "vocab: key 'b' is missing"
    assert fails({"a": 1, "b": 2, "z": 0}, {"a": 1, "b": 2}, "vocab") == "vocab: unexpected key `'z'`"
    assert fails({"a": 1, "b": 3}, {"a": 1, "b": 2}, "vocab") == "vocab['b']: expected 2, got 3"
    assert fails({"stats": {"mean": 0.5}}, {"stats": {"mean": 0.25}}, "r") == "r['stats']['mean']: expected 0.25, got 0.5"


def test_text_names_the_first_differing_character():
    assert fails("hello world", "hello there", "decoded") == \
        "decoded: texts differ at character 6: expected `'hello there'`, got `'hello world'`"
    assert fails("안녕", "안녕하세요", "decoded") == \
        "decoded: texts differ at character 2: expected `'안녕하세요'`, got `'안녕'` (expected 5 characters, got 2)"


def test_tensors_inside_plain_values_keep_the_tensor_message():
    message = fails({"logits": torch.zeros(2, 3)}, {"logits": torch.ones(2, 3)}, "out")
    assert message.startswith("out['logits']: 6 of 6 values differ; largest difference at [0, 0]")
    assert fails([torch.zeros(2)], [torch.ones(2)], "out").startswith("out (case 1): 2 of 2 values differ")


def test_numpy_arrays_compare_as_tensors():
    assert fails(np.array([1.0, 2.0]), np.array([1.0, 2.5]), "arr").startswith("arr: 1 of 2 values differ")


def test_an_object_the_worker_could_only_name_never_matches_a_value():
    class Liar:
        def __eq__(self, other):
            return True
    assert fails(Liar(), 5, "n") == "n: expected the whole number 5, got a Liar"
    assert fails(Liar(), [1], "n") == "n: expected a list of 1 item, got a Liar"

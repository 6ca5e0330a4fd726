"""The likely mistake behind a differing value: each generic detector on values PyTorch makes with
that mistake, a test's own candidates, and nothing named when nothing explains the value."""
import pytest
import torch
import torch.nn.functional as F

from autograder import diagnosis
from autograder.diagnosis import Mistake, likely_cause, shape_cause
from autograder.i18n import language
from autograder.testing import expect_close, expect_equal

torch.manual_seed(0)
SCORES = torch.randn(6, 6)
WEIGHTS = torch.softmax(SCORES, dim=-1)
CAUSAL = torch.ones(6, 6).tril()


def test_softmax_over_the_wrong_dim():
    assert likely_cause(torch.softmax(SCORES, dim=0), WEIGHTS) == "softmax over dim=0 — each column sums to 1"
    batched = torch.randn(2, 3, 4, 4)
    assert likely_cause(torch.softmax(batched, dim=1), torch.softmax(batched, dim=-1)) == \
        "softmax over dim=1 — the values sum to 1 along dim 1, not along the last dim"


def test_weights_masked_after_the_softmax_and_not_renormalised():
    masked = WEIGHTS * CAUSAL
    assert likely_cause(masked, masked / masked.sum(dim=-1, keepdim=True)) == diagnosis.not_renormalised()


def test_a_mask_in_the_wrong_direction_in_weights_and_in_scores():
    right = CAUSAL / CAUSAL.sum(dim=-1, keepdim=True)
    wrong = CAUSAL.T / CAUSAL.T.sum(dim=-1, keepdim=True)
    assert likely_cause(wrong, right) == diagnosis.mask_direction()
    scores = SCORES.masked_fill(CAUSAL == 0, float("-inf"))
    assert likely_cause(SCORES.masked_fill(CAUSAL.T == 0, float("-inf")), scores) == diagnosis.mask_direction()


def test_dropout_left_on():
    dropped = F.dropout(WEIGHTS, p=0.5, training=True)
    assert likely_cause(dropped, WEIGHTS) == diagnosis.dropout_left_on(2.0)


def test_swapped_axes_also_when_the_shape_differs():
    x = torch.randn(2, 5, 3)
    assert likely_cause(x.transpose(1, 2), x) == diagnosis.axes_swapped(1, 2)
    assert likely_cause(SCORES.T, SCORES) == diagnosis.axes_swapped(0, 1)


def test_a_constant_factor():
    assert likely_cause(SCORES / 8, SCORES) == "every value is off by the same factor ×0.125"


def test_heads_concatenated_along_another_dim():
    heads = [torch.randn(2, 6, 2) for _ in range(3)]
    got, expected = list(torch.cat(heads, dim=1).shape), list(torch.cat(heads, dim=-1).shape)
    assert shape_cause(got, expected) == "concatenated along dim 1 instead of dim 2"
    assert shape_cause([2, 6, 5], [2, 6, 6]) is None


def test_a_tests_own_candidates_come_first():
    d_k = 16
    q, k = torch.randn(4, d_k), torch.randn(4, d_k)
    scores = q @ k.T
    mistakes = [Mistake(diagnosis.no_scaling, torch.softmax(scores, dim=-1)),
                Mistake(diagnosis.scaled_by_d_k, torch.softmax(scores / d_k, dim=-1))]
    expected = torch.softmax(scores / d_k ** 0.5, dim=-1)
    assert likely_cause(torch.softmax(scores / d_k, dim=-1), expected, mistakes) == diagnosis.scaled_by_d_k()
    assert likely_cause(torch.softmax(scores, dim=-1), expected, mistakes) == diagnosis.no_scaling()


def test_a_candidate_made_by_a_function_is_made_only_for_a_wrong_value():
    made = []

    def unscaled():
        made.append(1)
        return torch.softmax(SCORES, dim=-1)

    mistakes = [Mistake(diagnosis.no_scaling, unscaled)]
    expect_close(WEIGHTS, WEIGHTS, "attn_weights", mistakes=mistakes)
    assert made == []
    with pytest.raises(AssertionError, match=diagnosis.no_scaling()):
        expect_close(torch.softmax(SCORES, dim=-1), torch.softmax(SCORES / 4, dim=-1), "attn_weights", mistakes=mistakes)
    assert made == [1]


@pytest.mark.parametrize("got", [torch.randn(6, 6), torch.zeros(6, 6), torch.full((6, 6), float("nan")), WEIGHTS + 0.01])
def test_nothing_is_named_when_nothing_explains_the_value(got):
    assert likely_cause(got, WEIGHTS) is None


def test_the_failure_message_names_the_cause_in_the_course_language():
    with language("ko"), pytest.raises(AssertionError) as failure:
        expect_close(torch.softmax(SCORES, dim=0), WEIGHTS, "attn_weights")
    assert str(failure.value).startswith("attn_weights: 값 36개 중 ")
    assert str(failure.value).endswith(" — 가장 가능성 높은 원인: softmax를 dim=0으로 계산 — 각 열의 합이 1")
    with pytest.raises(AssertionError, match=r"`\[2, 18, 2\]` — likely cause: concatenated along dim 1 instead of dim 2$"):
        expect_equal([2, 18, 2], [2, 6, 6], "shape")

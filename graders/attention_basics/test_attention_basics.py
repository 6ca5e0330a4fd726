"""Hidden tests of attention_basics. The student's functions run on inputs the grader made
(`given`); their outputs are checked against PyTorch's own functions (F.scaled_dot_product_attention,
F.cosine_similarity) and the formulas, computed here on the grader's copy of those inputs."""
import pytest
import torch
import torch.nn.functional as F

from autograder import diagnosis
from autograder.diagnosis import Mistake
from autograder.testing import cases, expect_close, expect_same

question = pytest.mark.question
hidden = pytest.mark.hidden


@question("b1")
def test_average_with_loops(student, reference):
    """averaged_embeddings: 각 위치까지의 토큰 평균"""
    expect_same(student, reference, "avg-loop:averaged_embeddings")


@question("b2")
def test_lower_triangular_weights(student, reference):
    """weights: 하삼각 행렬이고 각 행의 합이 1"""
    expect_same(student, reference, "avg-matmul:weights")


@question("b2")
def test_average_with_matmul(student, reference):
    """averaged_matmul이 반복문 버전과 같음"""
    expect_same(student, reference, "avg-matmul:averaged_matmul")


@question("b3")
def test_minus_inf_mask(student, reference):
    """scores: 각 위치까지는 0, 그 뒤는 -inf"""
    expect_same(student, reference, "avg-softmax:scores")


@question("b3")
def test_softmax_weights_and_average(student, reference):
    """소프트맥스 가중치와 averaged_softmax"""
    expect_same(student, reference, "avg-softmax:weights")
    expect_same(student, reference, "avg-softmax:averaged_softmax")


@question("b3")
@hidden
def test_causal_mean_on_unseen_inputs(student, reference, given):
    """다른 배치 크기, 길이, 너비에서의 causal_mean"""
    for out, x in zip(cases(student, "causal_mean_unseen", 2), given["causal_mean"]):
        expected = x.cumsum(dim=1) / torch.arange(1, x.shape[1] + 1).reshape(1, -1, 1)
        expect_close(out, expected, "causal_mean(x)")


@question("b4")
def test_scores(student, reference):
    """scores = Q K^T"""
    expect_same(student, reference, "qkv-scores:scores")


@question("b4")
def test_attention_weights(student, reference):
    """attention_weights: 각 행의 소프트맥스"""
    expect_same(student, reference, "qkv-weights:attention_weights")


@question("b4")
def test_output(student, reference):
    """output = attention_weights V"""
    expect_same(student, reference, "qkv-output:output")


@question("b5")
def test_attention_function_on_the_lesson(student, reference):
    """수업의 Q, K, V에서 attention(Q, K, V)의 출력과 가중치"""
    expect_same(student, reference, "attention-fn:[attention(Q, K, V), attention(K, Q, V)]")


@question("b5")
@hidden
def test_attention_function_on_unseen_inputs(student, reference, given):
    """다른 크기와 배치 차원에서의 attention(Q, K, V)"""
    for case, inputs in zip(cases(student, "attention_unseen", 2), given["attention"]):
        weights = torch.softmax(inputs["q"] @ inputs["k"].transpose(-2, -1), dim=-1)
        expect_close(case["weights"], weights, "어텐션 가중치")
        expect_close(case["out"], weights @ inputs["v"], "어텐션 출력")


@question("b6")
def test_cosine_similarity_on_the_lesson(student, reference):
    """수업의 벡터 a, b, c에서 cosine_similarity"""
    expect_same(student, reference, "similarity:[cosine_similarity(a, b), cosine_similarity(a, c)]")


@question("b6")
@hidden
def test_cosine_similarity_on_unseen_vectors(student, reference, given):
    """cosine_similarity가 반대 방향 벡터에서도 F.cosine_similarity와 같음"""
    for cos, pair in zip(cases(student, "cosine_unseen", 2), given["cosine"]):
        expect_close(cos, F.cosine_similarity(pair["u"], pair["v"], dim=0), "cosine_similarity(u, v)")


@question("b7")
def test_variance_grows_with_dimension(student, reference):
    """q·k의 분산은 약 d_k이고, sqrt(d_k)로 나누면 약 1"""
    expect_close(torch.tensor(student["variance:variances"]), torch.tensor(reference["variance:variances"]),
                 "variances", atol=0.11)
    expect_close(torch.tensor(student["variance:scaled_variances"]),
                 torch.tensor(reference["variance:scaled_variances"]), "scaled_variances", atol=0.011)


@question("b8")
def test_scaled_softmax_spreads_the_weights(student, reference):
    """weights_scaled: 점수를 sqrt(d_k)로 나눈 뒤의 소프트맥스"""
    scores, d_k = reference["saturation:scores"], reference["saturation:d_k"]
    expect_same(student, reference, "saturation:weights_scaled", mistakes=[
        Mistake(diagnosis.no_scaling, torch.softmax(scores, dim=-1)),
        Mistake(diagnosis.scaled_by_d_k, torch.softmax(scores / d_k, dim=-1))])


@question("b9")
@hidden
def test_sdpa_matches_pytorch(student, reference, given):
    """scaled_dot_product_attention이 F.scaled_dot_product_attention과 같음 (배치, 헤드, 코잘 여부)"""
    for out, case in zip(cases(student, "sdpa_unseen", 4), given["sdpa"]):
        expected = F.scaled_dot_product_attention(case["q"], case["k"], case["v"], is_causal=case["causal"])
        what = "코잘 어텐션" if case["causal"] else "어텐션"
        expect_close(out, expected, f"q의 모양이 {tuple(case['q'].shape)}일 때 {what}", atol=1e-5)


def sdpa_mistakes(q, k, v, causal):
    """The lesson's attention with the common mistakes, computed here from the solution's inputs."""
    d_k = q.shape[-1]
    future = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).triu(diagonal=1)

    def attend(scale, mask):
        scores = q @ k.transpose(-2, -1) / scale
        if mask is not None:
            scores = scores.masked_fill(mask, float("-inf"))
        return torch.softmax(scores, dim=-1) @ v

    mask = future if causal else None
    made = [Mistake(diagnosis.no_scaling, attend(1.0, mask)), Mistake(diagnosis.scaled_by_d_k, attend(d_k, mask))]
    if causal:
        made.append(Mistake(diagnosis.mask_direction, attend(d_k ** 0.5, future.T)))
    return made


@question("b9")
def test_sdpa_without_mask(student, reference):
    """마스크 없이, 수업의 q, k, v에서"""
    q, k, v = (reference[f"sdpa:{name}"] for name in "qkv")
    probe = "sdpa:[scaled_dot_product_attention(q, k, v), scaled_dot_product_attention(k, q, v)]"
    expect_same(student, reference, probe, atol=1e-5, mistakes=sdpa_mistakes(q, k, v, causal=False))


@question("b9")
def test_sdpa_with_mask(student, reference):
    """코잘 마스크와 함께, 수업의 q, k, v에서"""
    q, k, v = (reference[f"sdpa:{name}"] for name in "qkv")
    expect_same(student, reference, "sdpa:scaled_dot_product_attention(q, k, v, causal=True)", atol=1e-5,
                mistakes=sdpa_mistakes(q, k, v, causal=True))

"""Hidden tests of lec27_attention. Visible tests check the values the lesson shows; hidden ones
call the student's functions and classes on inputs, sizes and weights the grader made (`given`).
What a notebook sends is compared with the solution's run on the same inputs or with values
computed here; property tests also demand what a constant, zero, NaN or identity module cannot give."""
import pytest
import torch

from autograder import diagnosis
from autograder.diagnosis import Mistake
from autograder.testing import (
    differs,
    expect_causal,
    expect_close,
    expect_equal,
    expect_finite,
    expect_nontrivial,
    expect_responds,
    expect_same,
    expect_shape,
    expect_tensor,
)

question = pytest.mark.question
hidden = pytest.mark.hidden


def attention_mistakes(reference, scale=True):
    """What the lesson's self-attention (seed 123) gives with its common mistakes, from the
    solution's queries, keys and values."""
    q, k, v = (reference[f"qkv-all:{name}"] for name in ("querys", "keys", "values"))
    scores = q @ k.T
    return [Mistake(diagnosis.no_scaling, torch.softmax(scores, dim=-1) @ v),
            Mistake(lambda: diagnosis.softmax_over(0, 2), torch.softmax(scores / k.shape[-1] ** 0.5, dim=0) @ v)]


def lesson_mha(batch, transpose=True, scale=True, softmax_dim=-1):
    """The lesson's MultiHeadAttention (seed 123, d_out=4, two heads) rebuilt here, with a mistake or not."""
    torch.manual_seed(123)
    d_in, d_out, heads = batch.shape[-1], 4, 2
    w_query, w_key, w_value = (torch.nn.Linear(d_in, d_out, bias=False) for _ in range(3))
    out_proj = torch.nn.Linear(d_out, d_out)
    b, tokens, _ = batch.shape
    split = (b, tokens, heads, d_out // heads) if transpose else (b, heads, tokens, d_out // heads)
    q, k, v = (layer(batch).view(*split) for layer in (w_query, w_key, w_value))
    if transpose:
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
    scores = (q @ k.transpose(2, 3)).masked_fill(torch.ones(tokens, tokens).triu(1).bool(), -torch.inf)
    weights = torch.softmax(scores / (k.shape[-1] ** 0.5 if scale else 1), dim=softmax_dim)
    context = (weights @ v).transpose(1, 2).contiguous().view(b, tokens, d_out)
    with torch.no_grad():
        return out_proj(context)


# q1: dot products and attention scores for query x^(2)
@question("q1")
def test_query_and_input(student, reference):
    """query는 x^(2), input은 x^(1)"""
    expect_same(student, reference, "dot-loop:query")
    expect_same(student, reference, "dot-loop:input")


@question("q1")
def test_dot_product_loop(student, reference):
    """반복문으로 계산한 내적"""
    expect_same(student, reference, "dot-loop:res")


@question("q1")
def test_scores_for_query_2(student, reference):
    """쿼리 x^(2)에 대한 모든 입력의 어텐션 점수"""
    expect_same(student, reference, "scores-q2:attn_scores_2")


# q2: normalising the scores
@question("q2")
def test_simple_normalisation(student, reference):
    """합으로 나누어 정규화한 가중치"""
    expect_same(student, reference, "weights-q2-sum:attn_weights_2_tmp")


@question("q2")
def test_softmax_naive(student, reference):
    """수업의 점수에 적용한 softmax_naive"""
    expect_same(student, reference, "softmax-naive:attn_weights_2_naive")


@question("q2")
@hidden
def test_softmax_naive_unseen(student, reference):
    """다른 벡터에 적용한 softmax_naive"""
    expect_same(student, reference, "softmax_naive_unseen", "softmax_naive")


@question("q2")
def test_torch_softmax(student, reference):
    """쿼리 x^(2)에 대한 torch.softmax 가중치"""
    expect_same(student, reference, "softmax-torch:attn_weights_2")


# q3: context vector z^(2)
@question("q3")
def test_context_vector_2(student, reference):
    """입력의 가중합으로 구한 문맥 벡터 z^(2)"""
    expect_same(student, reference, "context-q2:context_vec_2")


# q4: all attention scores
@question("q4")
def test_scores_loop(student, reference):
    """이중 반복문으로 구한 모든 어텐션 점수"""
    expect_same(student, reference, "scores-all-loop:attn_scores")


@question("q4")
def test_scores_matmul(student, reference):
    """행렬 곱 한 번으로 구한 모든 어텐션 점수"""
    expect_same(student, reference, "scores-all-matmul:attn_scores")


# q5: all attention weights and context vectors
@question("q5")
def test_weights_all(student, reference):
    """각 행을 따라 정규화한 어텐션 가중치"""
    expect_same(student, reference, "weights-all:attn_weights")


@question("q5")
def test_context_all(student, reference):
    """모든 문맥 벡터"""
    expect_same(student, reference, "context-all:all_context_vecs")


# q6: query, key and value projections under seed 123
@question("q6")
def test_qkv_weights(student, reference):
    """seed 123에서 torch.rand로 W_query, W_key, W_value 순서로 만든 가중치"""
    names = ("W_query", "W_key", "W_value")
    for name in names:
        expect_same(student, reference, f"qkv-weights:{name}", mistakes=[
            Mistake(lambda other=other, name=name: diagnosis.drawn_in_another_order(name, other),
                    reference[f"qkv-weights:{other}"]) for other in names if other != name])


@question("q6")
def test_query_key_value_2(student, reference):
    """x^(2)의 query_2, key_2, value_2"""
    for name in ("query_2", "key_2", "value_2"):
        expect_same(student, reference, f"qkv-q2:{name}")


@question("q6")
def test_all_queries_keys_values(student, reference):
    """모든 입력의 쿼리, 키, 값"""
    for name in ("querys", "keys", "values"):
        expect_same(student, reference, f"qkv-all:{name}")


# q7: scaled attention for query 2
@question("q7")
def test_score_22(student, reference):
    """어텐션 점수 omega_22"""
    expect_same(student, reference, "score-22:attn_score_22")


@question("q7")
def test_scores_query_2(student, reference):
    """모든 키에 대한 쿼리 2의 어텐션 점수"""
    expect_same(student, reference, "scores-q2-qk:attn_scores_2")


@question("q7")
def test_scaled_weights_query_2(student, reference):
    """점수를 sqrt(d_k)로 나눈 뒤의 소프트맥스"""
    scores, d_k = reference["scores-q2-qk:attn_scores_2"], reference["qkv-all:keys"].shape[-1]
    expect_same(student, reference, "weights-q2-scaled:attn_weights_2", mistakes=[
        Mistake(diagnosis.no_scaling, torch.softmax(scores, dim=-1)),
        Mistake(diagnosis.scaled_by_d_k, torch.softmax(scores / d_k, dim=-1))])


@question("q7")
def test_context_query_2(student, reference):
    """쿼리 2의 문맥 벡터"""
    scores, values = reference["scores-q2-qk:attn_scores_2"], reference["qkv-all:values"]
    d_k = reference["qkv-all:keys"].shape[-1]
    expect_same(student, reference, "context-q2-qk:context_vec_2", mistakes=[
        Mistake(diagnosis.no_scaling, torch.softmax(scores, dim=-1) @ values),
        Mistake(diagnosis.scaled_by_d_k, torch.softmax(scores / d_k, dim=-1) @ values)])


# q8: SelfAttention_v1
@question("q8")
def test_v1_seed_123(student, reference):
    """수업의 입력에서 seed 123으로 만든 SelfAttention_v1"""
    expect_same(student, reference, "self-attention-v1:[sa_v1(inputs), sa_v1(inputs.flip(0))]",
                mistakes=attention_mistakes(reference))


@question("q8")
@hidden
def test_v1_other_size(student, reference):
    """다른 seed와 다른 크기의 SelfAttention_v1"""
    expect_same(student, reference, "v1_seeded_other_size", "SelfAttention_v1(4, 5)")


@question("q8")
@hidden
def test_v1_loaded_weights(student, reference):
    """주어진 가중치와 처음 보는 입력에서의 SelfAttention_v1"""
    expect_same(student, reference, "v1_loaded", "주어진 가중치의 SelfAttention_v1")


# q9: SelfAttention_v2
@question("q9")
def test_v2_seed_789(student, reference):
    """수업의 입력에서 seed 789로 만든 SelfAttention_v2"""
    expect_same(student, reference, "self-attention-v2:[sa_v2(inputs), sa_v2(inputs.flip(0))]")


@question("q9")
@hidden
def test_v2_loaded_weights(student, reference):
    """주어진 가중치와 처음 보는 입력에서의 SelfAttention_v2"""
    expect_same(student, reference, "v2_loaded", "주어진 가중치의 SelfAttention_v2")


@question("q9")
@hidden
def test_v2_bias(student, reference, given):
    """qkv_bias로 투영의 편향을 켜고 끔"""
    expect_equal(student["v2_bias"]["bias"], reference["v2_bias"]["bias"], "qkv_bias=True, qkv_bias=False일 때의 편향")
    expect_responds(*pair(student["v2_bias"]["outputs"]), "SelfAttention_v2(3, 2, qkv_bias=True)의 출력",
                    given["bias_x"][0], mixes_tokens=True)


# q10: causal masks
@question("q10")
def test_mask_simple(student, reference):
    """1로 채운 하삼각 마스크"""
    expect_same(student, reference, "mask-simple:mask_simple")


@question("q10")
def test_masked_simple(student, reference):
    """미래 위치를 0으로 가린 어텐션 가중치"""
    expect_same(student, reference, "masked-simple:masked_simple")


@question("q10")
def test_masked_renormalised(student, reference):
    """각 행의 합이 1이 되도록 다시 정규화한 마스크 가중치"""
    expect_same(student, reference, "masked-simple-norm:masked_simple_norm")


@question("q10")
def test_masked_minus_inf(student, reference):
    """미래 위치를 -inf로 채운 점수"""
    expect_same(student, reference, "mask-inf:masked")


# q11: dropout
# Ones and threes through the lesson's dropout: each kept value doubled, the rest zero, so the sums
# are 0, 2, 6 and 8; an output that does not follow its input cannot make all four.
DROPOUT_VALUES = "sorted((dropout.train()(torch.ones(12, 12)) + dropout(torch.full((12, 12), 3.0))).unique().tolist())"
@question("q11")
def test_dropout_zeros_and_scaling(student, reference, given):
    """dropout(p=0.5)은 값의 약 절반을 남기고 1/(1-p) = 2배로 키움"""
    x = given["dropout_x"]
    outputs = student["dropout_train"]
    assert isinstance(outputs, list) and len(outputs) == 2, "드롭아웃 출력이 두 개 있어야 합니다"
    for got in outputs:
        values = expect_finite(expect_shape(got, (12, 12), "12x12 텐서 x의 dropout(x)"), "dropout(x)")
        zeros = values == 0
        expect_close(values[~zeros], 2 * x[~zeros], "드롭아웃이 남긴 값 (그 자리에서 2 * x여야 함)")
        share = float(zeros.double().mean())
        assert 0.3 <= share <= 0.7, f"드롭아웃이 값의 {share:.0%}를 0으로 만들었습니다. p=0.5이면 약 절반이어야 합니다"
    assert differs(outputs[0], outputs[1]), "시드가 달라도 드롭아웃이 같은 값을 0으로 만들었습니다"


@question("q11")
def test_dropout_keeps_or_doubles(student, reference):
    """학습 모드의 dropout(p=0.5)은 각 값을 0으로 만들거나 2배로 키움"""
    expect_same(student, reference, "dropout:" + DROPOUT_VALUES)


@question("q11")
@hidden
def test_dropout_eval_is_identity(student, reference, given):
    """평가 모드에서 드롭아웃은 아무것도 바꾸지 않음 (학습 모드에서는 값을 버림)"""
    expect_close(student["dropout_eval"], given["dropout_eval_x"], "평가 모드의 드롭아웃")
    test_dropout_zeros_and_scaling(student, reference, given)  # the same module must drop in training mode


# q12: CausalAttention
@question("q12")
def test_causal_seed_123(student, reference):
    """배치에서 seed 123으로 만든 CausalAttention"""
    expect_same(student, reference, "causal-attention:[ca(batch), ca(batch.flip(1))]")


@question("q12")
def test_causal_batch_shape(student, reference, given):
    """토큰 6개짜리 배치 3개의 출력 모양 (batch, tokens, d_out)"""
    expect_shape(student["causal_loaded"], (3, 6, 3), "CausalAttention 출력")
    responds(student["causal_future_changed"], given["causal_future"], "CausalAttention 출력")


@question("q12")
@hidden
def test_causal_loaded_weights(student, reference):
    """주어진 가중치, context_length보다 적은 토큰에서의 CausalAttention"""
    expect_same(student, reference, "causal_loaded", "주어진 가중치의 CausalAttention")


@question("q12")
@hidden
def test_causal_ignores_the_future(student, reference):
    """토큰 3.. 을 바꿔도 토큰 0..2의 출력은 그대로이고, 토큰 0을 바꾸면 모든 출력이 바뀜"""
    expect_causal(student["causal_future_changed"], 3, "CausalAttention")


@question("q12")
@hidden
def test_causal_dropout_off_in_eval(student, reference, given):
    """드롭아웃 0.5에서도 평가 모드는 드롭아웃 없는 출력과 같음"""
    check_dropout_modes(student["causal_dropout_eval"], given["causal_eval_x"])


# q13: MultiHeadAttentionWrapper
# The lesson's wrapper through its own heads (the probe's expression, as in probes.py).
WRAPPER_CHECK = ("mha-wrapper:{'출력 모양': tuple(mha(batch).shape), '헤드 수': len(mha.heads),"
                 " '헤드 출력을 마지막 차원으로 이어 붙인 값과 같음':"
                 " mha(batch).shape == torch.cat([h(batch) for h in mha.heads], dim=-1).shape"
                 " and torch.allclose(mha(batch), torch.cat([h(batch) for h in mha.heads], dim=-1), equal_nan=True),"
                 " '입력이 바뀌면 출력도 바뀜': not torch.allclose(mha(batch), mha(batch.flip(1)), equal_nan=True)}")


@question("q13")
def test_wrapper_lesson_heads(student, reference):
    """배치에서 만든 헤드 2개의 래퍼: 출력은 헤드 출력을 마지막 차원으로 이어 붙인 것"""
    expect_same(student, reference, WRAPPER_CHECK, "수업의 래퍼 mha")


@question("q13")
def test_wrapper_shape(student, reference, given):
    """출력 크기는 d_out * num_heads"""
    output, changed = pair(student["wrapper_shape"])
    expect_equal(list(expect_tensor(output, "d_out=2, num_heads=3일 때 출력").shape), [2, 6, 6],
                 "d_out=2, num_heads=3일 때 출력 모양")
    expect_responds(output, changed, "d_out=2, num_heads=3일 때 출력", given["wrapper_shape_x"][0])


@question("q13")
@hidden
def test_wrapper_makes_its_heads(student, reference, given):
    """래퍼의 인자로 만든 헤드 num_heads개"""
    expect_equal(student["wrapper_with_stand_in_heads"]["heads"], reference["wrapper_with_stand_in_heads"]["heads"],
                 "만든 헤드 (d_in, d_out, context_length, dropout, qkv_bias)")
    run = student["wrapper_with_stand_in_heads"]
    expect_responds(run["output"], run["changed_output"], "래퍼 출력", given["wrapper_x"][0])


@question("q13")
@hidden
def test_wrapper_concatenates_heads(student, reference):
    """헤드 출력을 마지막 차원으로 이어 붙임"""
    expect_close(student["wrapper_with_stand_in_heads"]["output"], reference["wrapper_with_stand_in_heads"]["output"],
                 "래퍼 출력")


# q14: MultiHeadAttention
@question("q14")
def test_mha_seed_123(student, reference):
    """배치에서 seed 123으로 만든 MultiHeadAttention"""
    batch = reference["batch:batch"]
    expect_same(student, reference, "mha:[mha(batch), mha(batch.flip(1))]", mistakes=[
        Mistake(diagnosis.heads_not_transposed, lambda: lesson_mha(batch, transpose=False)),
        Mistake(diagnosis.no_scaling, lambda: lesson_mha(batch, scale=False)),
        Mistake(lambda: diagnosis.softmax_over(0, 4), lambda: lesson_mha(batch, softmax_dim=0))])


@question("q14")
def test_mha_shape(student, reference, given):
    """출력 모양 (batch, tokens, d_out)"""
    expect_shape(student["mha_loaded"][0], (3, 7, 8), "MultiHeadAttention 출력")
    responds(student["mha_future_changed"], given["mha_future"], "MultiHeadAttention 출력")


@question("q14")
@hidden
def test_mha_loaded_weights(student, reference):
    """주어진 가중치, 헤드 2개와 4개, context_length보다 적은 토큰"""
    expect_same(student, reference, "mha_loaded", "주어진 가중치의 MultiHeadAttention")


@question("q14")
@hidden
def test_mha_head_split(student, reference, given):
    """head_dim은 d_out // num_heads이고, 헤드가 실제로 d_out을 나눔"""
    expect_equal(student["mha_head_dim"], reference["mha_head_dim"], "d_out=8, 헤드 4개일 때 head_dim과 num_heads")
    two, four = (expect_nontrivial(output, "MultiHeadAttention 출력") for output in pair(student["mha_loaded"]))
    assert differs(two, four), "같은 가중치로 헤드 2개와 4개의 출력이 같습니다. 헤드가 d_out을 나누지 않습니다"
    responds(student["mha_future_changed"], given["mha_future"], "MultiHeadAttention 출력")


@question("q14")
@hidden
def test_mha_ignores_the_future(student, reference):
    """토큰 5.. 를 바꿔도 토큰 0..4의 출력은 그대로이고, 토큰 0을 바꾸면 모든 출력이 바뀜"""
    expect_causal(student["mha_future_changed"], 5, "MultiHeadAttention")


@question("q14")
@hidden
def test_mha_dropout_off_in_eval(student, reference, given):
    """드롭아웃 0.5에서도 평가 모드는 드롭아웃 없는 출력과 같음"""
    check_dropout_modes(student["mha_dropout_eval"], given["mha_eval_x"])


def pair(outputs) -> list:
    if not isinstance(outputs, list) or len(outputs) != 2:
        raise AssertionError("출력이 두 개 있어야 합니다")
    return outputs


def responds(outputs, inputs, what: str) -> None:
    """Outputs for x (first) and for x with token 0 changed (last): a real output mixing the tokens."""
    if not isinstance(outputs, list) or len(outputs) != 3:
        raise AssertionError(f"{what}: 출력이 세 개 있어야 합니다")
    expect_responds(outputs[0], outputs[2], what, inputs[0], mixes_tokens=True)


def check_dropout_modes(outputs, x):
    """[eval, train, no dropout, no dropout on x with token 0 changed]: eval equals no dropout,
    a real output that training mode changes."""
    assert isinstance(outputs, list) and len(outputs) == 4, "출력이 네 개 있어야 합니다"
    eval_output, train_output, plain, changed = outputs
    plain = expect_responds(plain, changed, "드롭아웃 없는 출력", x[0], mixes_tokens=True)
    expect_close(eval_output, plain, "평가 모드의 출력")
    train_output = expect_finite(train_output, "학습 모드의 출력")
    assert differs(train_output, plain), "학습 모드에서 드롭아웃 0.5가 아무것도 바꾸지 않습니다"

"""Hidden tests of lec27_attention. Visible tests check the values the lesson shows; hidden ones
call the student's functions and classes on inputs, sizes and weights the grader made (`given`).
What a notebook sends is compared with the solution's run on the same inputs or with values
computed here; property tests also demand what a constant, zero, NaN or identity module cannot give."""
import pytest

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
)

question = pytest.mark.question
hidden = pytest.mark.hidden


# q1: dot products and attention scores for query x^(2)
@question("q1")
def test_query_and_input(student, reference):
    """query is x^(2) and input is x^(1)"""
    expect_same(student, reference, "dot-loop:query")
    expect_same(student, reference, "dot-loop:input")


@question("q1")
def test_dot_product_loop(student, reference):
    """the dot product computed in a loop"""
    expect_same(student, reference, "dot-loop:res")


@question("q1")
def test_scores_for_query_2(student, reference):
    """attention scores of every input against query x^(2)"""
    expect_same(student, reference, "scores-q2:attn_scores_2")


# q2: normalising the scores
@question("q2")
def test_simple_normalisation(student, reference):
    """weights normalised by their sum"""
    expect_same(student, reference, "weights-q2-sum:attn_weights_2_tmp")


@question("q2")
def test_softmax_naive(student, reference):
    """softmax_naive on the lesson's scores"""
    expect_same(student, reference, "softmax-naive:attn_weights_2_naive")


@question("q2")
@hidden
def test_softmax_naive_unseen(student, reference):
    """softmax_naive on other vectors"""
    expect_same(student, reference, "softmax_naive_unseen", "softmax_naive")


@question("q2")
def test_torch_softmax(student, reference):
    """torch.softmax weights for query x^(2)"""
    expect_same(student, reference, "softmax-torch:attn_weights_2")


# q3: context vector z^(2)
@question("q3")
def test_context_vector_2(student, reference):
    """context vector z^(2) as the weighted sum of the inputs"""
    expect_same(student, reference, "context-q2:context_vec_2")


# q4: all attention scores
@question("q4")
def test_scores_loop(student, reference):
    """all attention scores, with two loops"""
    expect_same(student, reference, "scores-all-loop:attn_scores")


@question("q4")
def test_scores_matmul(student, reference):
    """all attention scores, with one matrix product"""
    expect_same(student, reference, "scores-all-matmul:attn_scores")


# q5: all attention weights and context vectors
@question("q5")
def test_weights_all(student, reference):
    """attention weights, normalised along each row"""
    expect_same(student, reference, "weights-all:attn_weights")


@question("q5")
def test_context_all(student, reference):
    """all context vectors"""
    expect_same(student, reference, "context-all:all_context_vecs")


# q6: query, key and value projections under seed 123
@question("q6")
def test_qkv_weights(student, reference):
    """W_query, W_key, W_value drawn with torch.rand under seed 123, in that order"""
    for name in ("W_query", "W_key", "W_value"):
        expect_same(student, reference, f"qkv-weights:{name}")


@question("q6")
def test_query_key_value_2(student, reference):
    """query_2, key_2 and value_2 for x^(2)"""
    for name in ("query_2", "key_2", "value_2"):
        expect_same(student, reference, f"qkv-q2:{name}")


@question("q6")
def test_all_queries_keys_values(student, reference):
    """queries, keys and values of all inputs"""
    for name in ("querys", "keys", "values"):
        expect_same(student, reference, f"qkv-all:{name}")


# q7: scaled attention for query 2
@question("q7")
def test_score_22(student, reference):
    """attention score omega_22"""
    expect_same(student, reference, "score-22:attn_score_22")


@question("q7")
def test_scores_query_2(student, reference):
    """attention scores of query 2 against all keys"""
    expect_same(student, reference, "scores-q2-qk:attn_scores_2")


@question("q7")
def test_scaled_weights_query_2(student, reference):
    """softmax of the scores divided by sqrt(d_k)"""
    expect_same(student, reference, "weights-q2-scaled:attn_weights_2")


@question("q7")
def test_context_query_2(student, reference):
    """context vector of query 2"""
    expect_same(student, reference, "context-q2-qk:context_vec_2")


# q8: SelfAttention_v1
@question("q8")
def test_v1_seed_123(student, reference):
    """SelfAttention_v1 under seed 123 on the lesson's inputs"""
    expect_same(student, reference, "v1_seeded", "sa_v1(inputs)")


@question("q8")
@hidden
def test_v1_other_size(student, reference):
    """SelfAttention_v1 with other sizes under another seed"""
    expect_same(student, reference, "v1_seeded_other_size", "SelfAttention_v1(4, 5)")


@question("q8")
@hidden
def test_v1_loaded_weights(student, reference):
    """SelfAttention_v1 with given weights on unseen inputs"""
    expect_same(student, reference, "v1_loaded", "SelfAttention_v1 with given weights")


# q9: SelfAttention_v2
@question("q9")
def test_v2_seed_789(student, reference):
    """SelfAttention_v2 under seed 789 on the lesson's inputs"""
    expect_same(student, reference, "v2_seeded", "sa_v2(inputs)")


@question("q9")
@hidden
def test_v2_loaded_weights(student, reference):
    """SelfAttention_v2 with given weights on unseen inputs"""
    expect_same(student, reference, "v2_loaded", "SelfAttention_v2 with given weights")


@question("q9")
@hidden
def test_v2_bias(student, reference, given):
    """qkv_bias switches the projections' bias on and off"""
    expect_equal(student["v2_bias"]["bias"], reference["v2_bias"]["bias"], "bias with qkv_bias=True, qkv_bias=False")
    expect_responds(*pair(student["v2_bias"]["outputs"]), "SelfAttention_v2(3, 2, qkv_bias=True) output",
                    given["bias_x"][0], mixes_tokens=True)


# q10: causal masks
@question("q10")
def test_mask_simple(student, reference):
    """lower-triangular mask of ones"""
    expect_same(student, reference, "mask-simple:mask_simple")


@question("q10")
def test_masked_simple(student, reference):
    """attention weights with the future masked to zero"""
    expect_same(student, reference, "masked-simple:masked_simple")


@question("q10")
def test_masked_renormalised(student, reference):
    """masked weights renormalised so each row sums to 1"""
    expect_same(student, reference, "masked-simple-norm:masked_simple_norm")


@question("q10")
def test_masked_minus_inf(student, reference):
    """scores with the future filled with -inf"""
    expect_same(student, reference, "mask-inf:masked")


# q11: dropout
@question("q11")
def test_dropout_zeros_and_scaling(student, reference, given):
    """dropout(p=0.5) keeps about half the values and scales them by 1/(1-p) = 2"""
    x = given["dropout_x"]
    outputs = student["dropout_train"]
    assert isinstance(outputs, list) and len(outputs) == 2, "expected two dropout outputs"
    for got in outputs:
        values = expect_finite(expect_shape(got, (12, 12), "dropout(x) for a 12x12 x"), "dropout(x)")
        zeros = values == 0
        expect_close(values[~zeros], 2 * x[~zeros], "values dropout kept (expected 2 * x there)")
        share = float(zeros.double().mean())
        assert 0.3 <= share <= 0.7, f"dropout zeroed {share:.0%} of the values; with p=0.5 expect about half"
    assert differs(outputs[0], outputs[1]), "dropout zeroed the same values under two different seeds"


@question("q11")
@hidden
def test_dropout_eval_is_identity(student, reference, given):
    """in eval mode dropout changes nothing (and in training mode it drops values)"""
    expect_close(student["dropout_eval"], given["dropout_eval_x"], "dropout in eval mode")
    test_dropout_zeros_and_scaling(student, reference, given)  # the same module must drop in training mode


# q12: CausalAttention
@question("q12")
def test_causal_seed_123(student, reference):
    """CausalAttention under seed 123 on the batch"""
    expect_same(student, reference, "causal_seeded", "context_vecs")


@question("q12")
def test_causal_batch_shape(student, reference, given):
    """output shape (batch, tokens, d_out) for a batch of 3 with 6 tokens"""
    expect_shape(student["causal_loaded"], (3, 6, 3), "CausalAttention output")
    responds(student["causal_future_changed"], given["causal_future"], "CausalAttention output")


@question("q12")
@hidden
def test_causal_loaded_weights(student, reference):
    """CausalAttention with given weights, fewer tokens than context_length"""
    expect_same(student, reference, "causal_loaded", "CausalAttention with given weights")


@question("q12")
@hidden
def test_causal_ignores_the_future(student, reference):
    """changing tokens 3.. leaves the outputs of tokens 0..2 unchanged; changing token 0 changes all"""
    expect_causal(student["causal_future_changed"], 3, "CausalAttention")


@question("q12")
@hidden
def test_causal_dropout_off_in_eval(student, reference, given):
    """with dropout 0.5, eval mode gives the dropout-free output"""
    check_dropout_modes(student["causal_dropout_eval"], given["causal_eval_x"])


# q13: MultiHeadAttentionWrapper
@question("q13")
def test_wrapper_shape(student, reference, given):
    """output size is d_out * num_heads"""
    output, changed = pair(student["wrapper_shape"])
    expect_shape(output, (2, 6, 6), "output for d_out=2, num_heads=3")
    expect_responds(output, changed, "output for d_out=2, num_heads=3", given["wrapper_shape_x"][0])


@question("q13")
@hidden
def test_wrapper_makes_its_heads(student, reference, given):
    """num_heads heads, each made with the wrapper's arguments"""
    expect_equal(student["wrapper_with_stand_in_heads"]["heads"], reference["wrapper_with_stand_in_heads"]["heads"],
                 "heads made (d_in, d_out, context_length, dropout, qkv_bias)")
    run = student["wrapper_with_stand_in_heads"]
    expect_responds(run["output"], run["changed_output"], "wrapper output", given["wrapper_x"][0])


@question("q13")
@hidden
def test_wrapper_concatenates_heads(student, reference):
    """the heads' outputs concatenated along the last dimension"""
    expect_close(student["wrapper_with_stand_in_heads"]["output"], reference["wrapper_with_stand_in_heads"]["output"],
                 "wrapper output")


# q14: MultiHeadAttention
@question("q14")
def test_mha_seed_123(student, reference):
    """MultiHeadAttention under seed 123 on the batch"""
    expect_same(student, reference, "mha_seeded", "context_vecs")


@question("q14")
def test_mha_shape(student, reference, given):
    """output shape (batch, tokens, d_out)"""
    expect_shape(student["mha_loaded"][0], (3, 7, 8), "MultiHeadAttention output")
    responds(student["mha_future_changed"], given["mha_future"], "MultiHeadAttention output")


@question("q14")
@hidden
def test_mha_loaded_weights(student, reference):
    """with given weights, 2 and 4 heads, fewer tokens than context_length"""
    expect_same(student, reference, "mha_loaded", "MultiHeadAttention with given weights")


@question("q14")
@hidden
def test_mha_head_split(student, reference, given):
    """head_dim is d_out // num_heads, and the heads really split d_out"""
    expect_equal(student["mha_head_dim"], reference["mha_head_dim"], "head_dim and num_heads for d_out=8, 4 heads")
    two, four = (expect_nontrivial(output, "MultiHeadAttention output") for output in pair(student["mha_loaded"]))
    assert differs(two, four), "2 and 4 heads with the same weights give the same output; the heads do not split d_out"
    responds(student["mha_future_changed"], given["mha_future"], "MultiHeadAttention output")


@question("q14")
@hidden
def test_mha_ignores_the_future(student, reference):
    """changing tokens 5.. leaves the outputs of tokens 0..4 unchanged; changing token 0 changes all"""
    expect_causal(student["mha_future_changed"], 5, "MultiHeadAttention")


@question("q14")
@hidden
def test_mha_dropout_off_in_eval(student, reference, given):
    """with dropout 0.5, eval mode gives the dropout-free output"""
    check_dropout_modes(student["mha_dropout_eval"], given["mha_eval_x"])


def pair(outputs) -> list:
    if not isinstance(outputs, list) or len(outputs) != 2:
        raise AssertionError("expected two outputs")
    return outputs


def responds(outputs, inputs, what: str) -> None:
    """Outputs for x (first) and for x with token 0 changed (last): a real output mixing the tokens."""
    if not isinstance(outputs, list) or len(outputs) != 3:
        raise AssertionError(f"{what}: expected three outputs")
    expect_responds(outputs[0], outputs[2], what, inputs[0], mixes_tokens=True)


def check_dropout_modes(outputs, x):
    """[eval, train, no dropout, no dropout on x with token 0 changed]: eval equals no dropout,
    a real output that training mode changes."""
    assert isinstance(outputs, list) and len(outputs) == 4, "expected four outputs"
    eval_output, train_output, plain, changed = outputs
    plain = expect_responds(plain, changed, "output without dropout", x[0], mixes_tokens=True)
    expect_close(eval_output, plain, "output in eval mode")
    assert differs(expect_finite(train_output, "output in training mode"), plain), \
        "dropout 0.5 in training mode changes nothing"

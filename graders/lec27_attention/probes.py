"""What the hidden tests of lec27_attention need from a notebook.

These functions run inside the worker, next to the student's code, so they hold no expected
values and no solution code. Inputs and weights are made in the grader (`make_inputs`) and come
here as `probes.given(...)`; the tests compare against the solution's run on the same inputs, or
against what the grader itself computes from them, never against what a probe echoes back.
"""
import torch
import torch.nn as nn

from autograder.probes import Probes, need, replaced

probes = Probes()


@probes.grader_inputs
def make_inputs(seeds):
    """Runs in the grader: every input and weight the probes below feed the student's code."""
    g = torch.Generator().manual_seed(seeds[0])

    def rand(*shape):
        return torch.rand(*shape, generator=g)

    def projections(d_in, d_out, count=3):
        return [torch.randn(d_in, d_out, generator=g) / d_in ** 0.5 for _ in range(count)]

    def pair(*shape):
        """x, and x with its first token changed."""
        x = rand(*shape)
        changed = x.clone()
        changed[..., 0, :] = rand(*changed[..., 0, :].shape)
        return [x, changed]

    def future(batch, tokens, d, split):
        x = rand(batch, tokens, d)
        late, early = x.clone(), x.clone()
        late[:, split:] = rand(batch, tokens - split, d)
        early[:, 0] = rand(batch, d)
        return [x, late, early]

    def mha_weights(d_in, d_out):
        return projections(d_in, d_out) + projections(d_out, d_out, 1) + [torch.randn(d_out, generator=g) * 0.1]

    return {
        "softmax": [torch.randn(4, generator=g) * 2, torch.randn(9, generator=g) * 2],
        "v1_other_x": rand(7, 4),
        "x5": [rand(4, 5), rand(8, 5)],
        "v1_w": projections(5, 3), "v2_w": projections(5, 3), "causal_w": projections(5, 3),
        "bias_x": pair(4, 3),
        "dropout_x": rand(12, 12) + 0.5, "dropout_eval_x": rand(5, 5),
        "causal_x": rand(3, 6, 5), "causal_future": future(2, 7, 5, 3), "causal_eval_x": pair(2, 6, 5),
        "wrapper_x": pair(2, 5, 4), "wrapper_shape_x": pair(2, 6, 3),
        "stand_in_heads": {f"{d_in}x{d_out}": [torch.randn(d_in, d_out, generator=g) for _ in range(3)]
                           for d_in, d_out in ((4, 3), (3, 2))},
        "mha_w": [mha_weights(6, 8) for _ in range(3)],
        "mha_x": rand(3, 7, 6), "mha_future": future(1, 8, 6, 5), "mha_eval_x": pair(2, 5, 6),
    }


def load_projection(module: nn.Module, name: str, weight: torch.Tensor, bias: torch.Tensor | None = None) -> None:
    """Put `weight` into the student's `module.<name>`, an nn.Linear or a (d_in, d_out) parameter."""
    layer = getattr(module, name, None)
    with torch.no_grad():
        if isinstance(layer, nn.Linear):
            if tuple(layer.weight.shape) != (weight.shape[1], weight.shape[0]):
                raise ValueError(f"{name} has weight shape {tuple(layer.weight.shape)}, "
                                 f"expected {(weight.shape[1], weight.shape[0])}")
            layer.weight.copy_(weight.T)
            if layer.bias is not None:
                layer.bias.copy_(bias if bias is not None else torch.zeros_like(layer.bias))
        elif isinstance(layer, torch.Tensor):
            if tuple(layer.shape) != tuple(weight.shape):
                raise ValueError(f"{name} has shape {tuple(layer.shape)}, expected {tuple(weight.shape)}")
            layer.copy_(weight)
        else:
            raise TypeError(f"{name} should be an nn.Linear or an nn.Parameter, found {type(layer).__name__}")


def load_qkv(module: nn.Module, weights: list) -> None:
    for name, weight in zip(("W_query", "W_key", "W_value"), weights):
        load_projection(module, name, weight)


# 3.3.1 Simple self-attention for query x^(2)
probes.capture("dot-loop", "query", "input", "res")
probes.capture("scores-q2", "attn_scores_2")
probes.capture("weights-q2-sum", "attn_weights_2_tmp")
probes.capture("softmax-naive", "attn_weights_2_naive")
probes.capture("softmax-torch", "attn_weights_2")
probes.capture("context-q2", "context_vec_2")


@probes.after("softmax-naive")
def softmax_naive_unseen(ns):
    """softmax_naive on vectors the student never saw."""
    softmax_naive = need(ns, "softmax_naive")
    return [softmax_naive(x) for x in probes.given("softmax")]


# 3.3.2 All tokens
probes.capture("scores-all-loop", "attn_scores")
probes.capture("scores-all-matmul", "attn_scores")
probes.capture("weights-all", "attn_weights")
probes.capture("context-all", "all_context_vecs")

# 3.4.1 Trainable weights, step by step (seed 123)
probes.capture("qkv-weights", "W_query", "W_key", "W_value")
probes.capture("qkv-q2", "query_2", "key_2", "value_2")
probes.capture("qkv-all", "querys", "keys", "values")
probes.capture("score-22", "attn_score_22")
probes.capture("scores-q2-qk", "attn_scores_2")
probes.capture("weights-q2-scaled", "attn_weights_2")
probes.capture("context-q2-qk", "context_vec_2")


# 3.4.2 SelfAttention_v1 and SelfAttention_v2
@probes.after("self-attention-v1")
def v1_seeded_other_size(ns):
    torch.manual_seed(probes.seeds[0])
    module = need(ns, "SelfAttention_v1")(4, 5)
    return module(probes.given("v1_other_x"))


@probes.after("self-attention-v1")
def v1_loaded(ns):
    module = need(ns, "SelfAttention_v1")(5, 3)
    load_qkv(module, probes.given("v1_w"))
    return [module(x) for x in probes.given("x5")]


@probes.after("self-attention-v2")
def v2_loaded(ns):
    module = need(ns, "SelfAttention_v2")(5, 3)
    load_qkv(module, probes.given("v2_w"))
    return [module(x) for x in probes.given("x5")]


@probes.after("self-attention-v2")
def v2_bias(ns):
    """Whether qkv_bias=True gives the projections a bias, and qkv_bias=False none; and the
    biased module's output, which must be a real one."""
    cls = need(ns, "SelfAttention_v2")
    torch.manual_seed(probes.seeds[0])
    with_bias, without = cls(3, 2, qkv_bias=True), cls(3, 2)
    return {"bias": [getattr(with_bias.W_query, "bias", None) is not None,
                     getattr(without.W_query, "bias", None) is not None],
            "outputs": [with_bias(x) for x in probes.given("bias_x")]}


# 3.5.1 Causal masks
probes.capture("batch", "batch")
probes.capture("mask-simple", "mask_simple")
probes.capture("masked-simple", "masked_simple")
probes.capture("masked-simple-norm", "masked_simple_norm")
probes.capture("mask-inf", "masked")


# 3.5.2 Dropout
@probes.after("dropout")
def dropout_train(ns):
    """Dropout in training mode under two seeds: each mask must come from the seed, not be fixed."""
    dropout = need(ns, "dropout")
    dropout.train()
    outputs = []
    for seed in probes.seeds[1:3]:
        torch.manual_seed(seed)
        outputs.append(dropout(probes.given("dropout_x")))
    return outputs


@probes.after("dropout")
def dropout_eval(ns):
    dropout = need(ns, "dropout")
    dropout.eval()
    try:
        return dropout(probes.given("dropout_eval_x"))
    finally:
        dropout.train()


# 3.5.3 CausalAttention
def _causal(ns, dropout: float):
    module = need(ns, "CausalAttention")(5, 3, 8, dropout)
    load_qkv(module, probes.given("causal_w"))
    return module


@probes.after("causal-attention")
def causal_loaded(ns):
    """Batch of 3, 6 tokens (fewer than context_length 8), weights loaded."""
    return _causal(ns, 0.0)(probes.given("causal_x"))


@probes.after("causal-attention")
def causal_future_changed(ns):
    """Outputs for x, for x with tokens 3.. changed, and for x with token 0 changed."""
    module = _causal(ns, 0.0)
    return [module(x) for x in probes.given("causal_future")]


@probes.after("causal-attention")
def causal_dropout_eval(ns):
    """With dropout 0.5: in eval mode, in training mode, and without dropout."""
    return _eval_train_plain(_causal(ns, 0.5), _causal(ns, 0.0), "causal_eval_x")


def _eval_train_plain(module, plain, x_name):
    """[eval mode, training mode, no dropout] on x, and no dropout on x with its first token changed."""
    x, changed = probes.given(x_name)
    outputs = [module.eval()(x)]
    torch.manual_seed(probes.seeds[1])
    outputs.append(module.train()(x))
    return outputs + [plain(x), plain(changed)]


# 3.6.1 MultiHeadAttentionWrapper: its heads are replaced by a simple stand-in, so this question
# grades the wrapper itself (heads made and concatenated), not CausalAttention again.
class StandInHead(nn.Module):
    made: list = []

    def __init__(self, d_in, d_out, context_length, dropout, qkv_bias=False):
        super().__init__()
        StandInHead.made.append([d_in, d_out, context_length, float(dropout), bool(qkv_bias)])
        number = len(StandInHead.made)
        self.scale = float(number)
        made = probes.given("stand_in_heads").get(f"{d_in}x{d_out}")
        self.proj = made[(number - 1) % len(made)] if made else torch.ones(d_in, d_out)

    def forward(self, x):
        return (x @ self.proj) * self.scale


@probes.after("mha-wrapper")
def wrapper_with_stand_in_heads(ns):
    StandInHead.made = []
    with replaced(ns, "CausalAttention", StandInHead):
        wrapper = need(ns, "MultiHeadAttentionWrapper")(4, 3, 9, 0.0, num_heads=3)
        heads = list(StandInHead.made)
        x, changed = probes.given("wrapper_x")
        output, changed_output = wrapper(x), wrapper(changed)
    return {"output": output, "changed_output": changed_output, "heads": heads}


@probes.after("mha-wrapper")
def wrapper_shape(ns):
    """The wrapper's output for d_out=2 and three (stand-in) heads, so that only the wrapper is graded."""
    StandInHead.made = []
    with replaced(ns, "CausalAttention", StandInHead):
        wrapper = need(ns, "MultiHeadAttentionWrapper")(3, 2, 6, 0.0, num_heads=3)
        return [wrapper(x) for x in probes.given("wrapper_shape_x")]


# 3.6.2 MultiHeadAttention
def _mha(ns, d_in, d_out, context_length, dropout, heads, weights):
    module = need(ns, "MultiHeadAttention")(d_in, d_out, context_length, dropout, num_heads=heads)
    weights = probes.given("mha_w")[weights]
    load_qkv(module, weights[:3])
    load_projection(module, "out_proj", weights[3], bias=weights[4])
    return module


@probes.after("mha")
def mha_loaded(ns):
    """Weights loaded; 2 and 4 heads; a batch of 3 with 7 tokens (context_length 10)."""
    return [_mha(ns, 6, 8, 10, 0.0, heads, weights=0)(probes.given("mha_x")) for heads in (2, 4)]


@probes.after("mha")
def mha_head_dim(ns):
    module = need(ns, "MultiHeadAttention")(6, 8, 10, 0.0, num_heads=4)
    return {"head_dim": getattr(module, "head_dim", None), "num_heads": getattr(module, "num_heads", None)}


@probes.after("mha")
def mha_future_changed(ns):
    module = _mha(ns, 6, 8, 10, 0.0, 2, weights=1)
    return [module(x) for x in probes.given("mha_future")]


@probes.after("mha")
def mha_dropout_eval(ns):
    return _eval_train_plain(_mha(ns, 6, 8, 10, 0.5, 2, weights=2), _mha(ns, 6, 8, 10, 0.0, 2, weights=2), "mha_eval_x")


# What visible tests compare, from the lesson's own data: these are handed out as checks too. Each
# module runs on two inputs, so that an output that ignores its input cannot pass.
probes.value("self-attention-v1", "[sa_v1(inputs), sa_v1(inputs.flip(0))]")
probes.value("self-attention-v2", "[sa_v2(inputs), sa_v2(inputs.flip(0))]")
probes.value("dropout", "sorted((dropout.train()(torch.ones(12, 12)) + dropout(torch.full((12, 12), 3.0))).unique().tolist())")
probes.value("causal-attention", "[ca(batch), ca(batch.flip(1))]")
WRAPPER_CHECK = ("{'출력 모양': tuple(mha(batch).shape), '헤드 수': len(mha.heads),"
                 " '헤드 출력을 마지막 차원으로 이어 붙인 값과 같음':"
                 " mha(batch).shape == torch.cat([h(batch) for h in mha.heads], dim=-1).shape"
                 " and torch.allclose(mha(batch), torch.cat([h(batch) for h in mha.heads], dim=-1), equal_nan=True),"
                 " '입력이 바뀌면 출력도 바뀜': not torch.allclose(mha(batch), mha(batch.flip(1)), equal_nan=True)}")
# The wrapper on the lesson's batch, through its own heads: whether it is their concatenation does
# not depend on CausalAttention being right, so a mistake there costs no point here.
probes.value("mha-wrapper", WRAPPER_CHECK)
probes.value("mha", "[mha(batch), mha(batch.flip(1))]")

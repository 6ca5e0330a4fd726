"""What the hidden tests of lec27_attention need from a notebook.

These functions run inside the worker, next to the student's code, so they hold recipes for
inputs and weights only: no expected values and no solution code. Weights are drawn from seeded
generators and loaded into the student's module, so the same numbers go into the solution's
module in the reference run, whatever order the student created parameters in.
"""
import torch
import torch.nn as nn

from autograder.probes import Probes, need, replaced

probes = Probes()


def generator(k: int) -> torch.Generator:
    return torch.Generator().manual_seed(probes.seeds[k % len(probes.seeds)])


def projection(d_in: int, d_out: int, k: int) -> torch.Tensor:
    """A weight W used as x @ W, shape (d_in, d_out)."""
    return torch.randn(d_in, d_out, generator=generator(k)) / d_in ** 0.5


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


def load_qkv(module: nn.Module, d_in: int, d_out: int, first: int) -> None:
    for offset, name in enumerate(("W_query", "W_key", "W_value")):
        load_projection(module, name, projection(d_in, d_out, first + offset))


def unseen(*shape: int, k: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=generator(k))


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
    return [softmax_naive(torch.randn(n, generator=generator(k)) * 2) for k, n in enumerate((4, 9))]


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
def v1_seeded(ns):
    """sa_v1 as the cell made it (seed 123), on the lesson's inputs."""
    return need(ns, "sa_v1")(need(ns, "inputs"))


@probes.after("self-attention-v1")
def v1_seeded_other_size(ns):
    torch.manual_seed(probes.seeds[0])
    module = need(ns, "SelfAttention_v1")(4, 5)
    return module(unseen(7, 4, k=1))


@probes.after("self-attention-v1")
def v1_loaded(ns):
    module = need(ns, "SelfAttention_v1")(5, 3)
    load_qkv(module, 5, 3, first=0)
    return [module(unseen(n, 5, k=k)) for k, n in enumerate((4, 8))]


@probes.after("self-attention-v2")
def v2_seeded(ns):
    return need(ns, "sa_v2")(need(ns, "inputs"))


@probes.after("self-attention-v2")
def v2_loaded(ns):
    module = need(ns, "SelfAttention_v2")(5, 3)
    load_qkv(module, 5, 3, first=3)
    return [module(unseen(n, 5, k=k)) for k, n in enumerate((4, 8))]


@probes.after("self-attention-v2")
def v2_bias(ns):
    """Whether qkv_bias=True gives the projections a bias, and qkv_bias=False none."""
    cls = need(ns, "SelfAttention_v2")
    with_bias, without = cls(3, 2, qkv_bias=True), cls(3, 2)
    return [getattr(with_bias.W_query, "bias", None) is not None, getattr(without.W_query, "bias", None) is not None]


# 3.5.1 Causal masks
probes.capture("batch", "batch")
probes.capture("mask-simple", "mask_simple")
probes.capture("masked-simple", "masked_simple")
probes.capture("masked-simple-norm", "masked_simple_norm")
probes.capture("mask-inf", "masked")


# 3.5.2 Dropout
@probes.after("dropout")
def dropout_train(ns):
    dropout = need(ns, "dropout")
    dropout.train()
    torch.manual_seed(probes.seeds[1])
    return dropout(torch.ones(12, 12))


@probes.after("dropout")
def dropout_eval(ns):
    dropout = need(ns, "dropout")
    dropout.eval()
    try:
        return dropout(unseen(5, 5))
    finally:
        dropout.train()


# 3.5.3 CausalAttention
@probes.after("causal-attention")
def causal_seeded(ns):
    """context_vecs as the cell computed it (seed 123, batch of two)."""
    return need(ns, "context_vecs")


def _causal(ns, dropout: float, first: int = 10):
    module = need(ns, "CausalAttention")(5, 3, 8, dropout)
    load_qkv(module, 5, 3, first=first)
    return module


@probes.after("causal-attention")
def causal_loaded(ns):
    """Batch of 3, 6 tokens (fewer than context_length 8), weights loaded."""
    return _causal(ns, 0.0)(unseen(3, 6, 5, k=0))


@probes.after("causal-attention")
def causal_future_changed(ns):
    """Outputs before and after changing tokens 3.. of the input."""
    module = _causal(ns, 0.0)
    x = unseen(2, 7, 5, k=1)
    changed = x.clone()
    changed[:, 3:] = unseen(2, 4, 5, k=2)
    return [module(x), module(changed)]


@probes.after("causal-attention")
def causal_dropout_eval(ns):
    """With dropout 0.5 in eval mode, the output must equal the dropout-free output."""
    x = unseen(2, 6, 5, k=2)
    module = _causal(ns, 0.5)
    module.eval()
    return [module(x), _causal(ns, 0.0)(x)]


# 3.6.1 MultiHeadAttentionWrapper: its heads are replaced by a simple stand-in, so this question
# grades the wrapper itself (heads made and concatenated), not CausalAttention again.
class StandInHead(nn.Module):
    made: list = []

    def __init__(self, d_in, d_out, context_length, dropout, qkv_bias=False):
        super().__init__()
        StandInHead.made.append([d_in, d_out, context_length, float(dropout), bool(qkv_bias)])
        number = len(StandInHead.made)
        self.scale = float(number)
        self.proj = torch.randn(d_in, d_out, generator=torch.Generator().manual_seed(100 + number))

    def forward(self, x):
        return (x @ self.proj) * self.scale


@probes.after("mha-wrapper")
def wrapper_with_stand_in_heads(ns):
    StandInHead.made = []
    with replaced(ns, "CausalAttention", StandInHead):
        wrapper = need(ns, "MultiHeadAttentionWrapper")(4, 3, 9, 0.0, num_heads=3)
        output = wrapper(unseen(2, 5, 4, k=0))
    return {"output": output, "heads": StandInHead.made}


@probes.after("mha-wrapper")
def wrapper_shape(ns):
    torch.manual_seed(probes.seeds[0])
    wrapper = need(ns, "MultiHeadAttentionWrapper")(3, 2, 6, 0.0, num_heads=3)
    return list(wrapper(need(ns, "batch")).shape)


# 3.6.2 MultiHeadAttention
@probes.after("mha")
def mha_seeded(ns):
    """context_vecs as the cell computed it (seed 123, d_out=4, two heads)."""
    return need(ns, "context_vecs")


def _mha(ns, d_in, d_out, context_length, dropout, heads, first):
    module = need(ns, "MultiHeadAttention")(d_in, d_out, context_length, dropout, num_heads=heads)
    load_qkv(module, d_in, d_out, first=first)
    load_projection(module, "out_proj", projection(d_out, d_out, first + 3),
                    bias=torch.randn(d_out, generator=generator(first + 4)) * 0.1)
    return module


@probes.after("mha")
def mha_loaded(ns):
    """Weights loaded; 2 and 4 heads; a batch of 3 with 7 tokens (context_length 10)."""
    x = unseen(3, 7, 6, k=1)
    return [_mha(ns, 6, 8, 10, 0.0, heads, first=20)(x) for heads in (2, 4)]


@probes.after("mha")
def mha_head_dim(ns):
    module = need(ns, "MultiHeadAttention")(6, 8, 10, 0.0, num_heads=4)
    return {"head_dim": getattr(module, "head_dim", None), "num_heads": getattr(module, "num_heads", None)}


@probes.after("mha")
def mha_future_changed(ns):
    module = _mha(ns, 6, 8, 10, 0.0, 2, first=30)
    x = unseen(1, 8, 6, k=2)
    changed = x.clone()
    changed[:, 5:] = unseen(1, 3, 6, k=0)
    return [module(x), module(changed)]


@probes.after("mha")
def mha_dropout_eval(ns):
    x = unseen(2, 5, 6, k=0)
    module = _mha(ns, 6, 8, 10, 0.5, 2, first=40)
    module.eval()
    return [module(x), _mha(ns, 6, 8, 10, 0.0, 2, first=40)(x)]

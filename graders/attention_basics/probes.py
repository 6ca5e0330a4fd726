"""What the hidden tests of attention_basics need: values after each step, and the student's
functions called on inputs they never saw (their outputs go back with the inputs, so the grader
can recompute the expected values with PyTorch's own functions)."""
import torch

from autograder.probes import Probes, need

probes = Probes()


def unseen(*shape: int, k: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(probes.seeds[k % len(probes.seeds)] + 7 * k))


probes.capture("avg-loop", "averaged_embeddings")
probes.capture("avg-matmul", "weights", "averaged_matmul")
probes.capture("avg-softmax", "scores", "weights", "averaged_softmax")


@probes.after("causal-mean")
def causal_mean_unseen(ns):
    causal_mean = need(ns, "causal_mean")
    return [{"x": x, "out": causal_mean(x)} for x in (unseen(3, 7, 5, k=0), unseen(1, 2, 3, k=1))]


probes.capture("qkv-scores", "scores")
probes.capture("qkv-weights", "attention_weights")
probes.capture("qkv-output", "output")


@probes.after("attention-fn")
def attention_unseen(ns):
    attention = need(ns, "attention")
    cases = []
    for k, shape in enumerate(((5, 4), (2, 6, 3))):
        q, key, v = unseen(*shape, k=k), unseen(*shape, k=k + 1), unseen(*shape, k=k + 2)
        out, weights = attention(q, key, v)
        cases.append({"q": q, "k": key, "v": v, "out": out, "weights": weights})
    return cases


@probes.after("similarity")
def cosine_unseen(ns):
    cosine_similarity = need(ns, "cosine_similarity")
    pairs = [(unseen(7, k=0), unseen(7, k=1)), (unseen(3, k=2), -3 * unseen(3, k=2))]
    return [{"u": u, "v": v, "cos": cosine_similarity(u, v)} for u, v in pairs]


probes.capture("variance", "variances", "scaled_variances")
probes.capture("saturation", "weights_scaled", "scores", "d_k")


@probes.after("sdpa")
def sdpa_lesson(ns):
    """The student's function on the lesson's q, k, v (made here as the lesson makes them), with and
    without the causal mask: what the visible test compares, so that it shows no unseen input."""
    sdpa = need(ns, "scaled_dot_product_attention")
    torch.manual_seed(2)
    q, k, v = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 5, 8), torch.randn(2, 3, 5, 8)
    return {"q": q, "k": k, "v": v, "out": sdpa(q, k, v), "causal": sdpa(q, k, v, causal=True)}


@probes.after("sdpa")
def sdpa_unseen(ns):
    sdpa = need(ns, "scaled_dot_product_attention")
    cases = []
    for k, (q_shape, kv_shape, causal) in enumerate((
            ((2, 3, 6, 8), (2, 3, 6, 8), False), ((2, 3, 6, 8), (2, 3, 6, 8), True),
            ((4, 7, 16), (4, 7, 16), True), ((5, 32), (9, 32), False))):
        q, key, v = unseen(*q_shape, k=k), unseen(*kv_shape, k=k + 1), unseen(*kv_shape, k=k + 2)
        cases.append({"q": q, "k": key, "v": v, "causal": causal, "out": sdpa(q, key, v, causal=causal)})
    return cases

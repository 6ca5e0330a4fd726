"""What the hidden tests of attention_basics need: values after each step, and the student's
functions called on inputs the grader made (`make_inputs`, sent here as `probes.given`). The tests
recompute the expected values from the grader's own copy of those inputs with PyTorch's functions,
never from anything this process sends back."""
import torch

from autograder.probes import Probes, need

probes = Probes()


@probes.grader_inputs
def make_inputs(seeds):
    """Runs in the grader: the inputs the probes below feed the student's functions."""
    g = torch.Generator().manual_seed(seeds[0])

    def randn(*shape):
        return torch.randn(*shape, generator=g)

    w = randn(3)
    return {
        "causal_mean": [randn(3, 7, 5), randn(1, 2, 3)],
        "attention": [{"q": randn(*shape), "k": randn(*shape), "v": randn(*shape)} for shape in ((5, 4), (2, 6, 3))],
        "cosine": [{"u": randn(7), "v": randn(7)}, {"u": w, "v": -3 * w}],
        "sdpa": [{"q": randn(*q), "k": randn(*kv), "v": randn(*kv), "causal": causal} for q, kv, causal in (
            ((2, 3, 6, 8), (2, 3, 6, 8), False), ((2, 3, 6, 8), (2, 3, 6, 8), True),
            ((4, 7, 16), (4, 7, 16), True), ((5, 32), (9, 32), False))],
    }


probes.capture("avg-loop", "averaged_embeddings")
probes.capture("avg-matmul", "weights", "averaged_matmul")
probes.capture("avg-softmax", "scores", "weights", "averaged_softmax")


@probes.after("causal-mean")
def causal_mean_unseen(ns):
    causal_mean = need(ns, "causal_mean")
    return [causal_mean(x) for x in probes.given("causal_mean")]


probes.capture("qkv-scores", "scores")
probes.capture("qkv-weights", "attention_weights")
probes.capture("qkv-output", "output")


@probes.after("attention-fn")
def attention_unseen(ns):
    attention = need(ns, "attention")
    cases = []
    for case in probes.given("attention"):
        out, weights = attention(case["q"], case["k"], case["v"])
        cases.append({"out": out, "weights": weights})
    return cases


@probes.after("similarity")
def cosine_unseen(ns):
    cosine_similarity = need(ns, "cosine_similarity")
    return [cosine_similarity(case["u"], case["v"]) for case in probes.given("cosine")]


probes.capture("variance", "variances", "scaled_variances")
probes.capture("saturation", "weights_scaled", "scores", "d_k")


@probes.after("sdpa")
def sdpa_unseen(ns):
    sdpa = need(ns, "scaled_dot_product_attention")
    return [sdpa(case["q"], case["k"], case["v"], causal=case["causal"]) for case in probes.given("sdpa")]


# What visible tests compare, from the lesson's own data: these are handed out as checks too.
probes.value("attention-fn", "[attention(Q, K, V), attention(K, Q, V)]")
probes.value("similarity", "[cosine_similarity(a, b), cosine_similarity(a, c)]")
probes.capture("sdpa", "q", "k", "v")
probes.value("sdpa", "[scaled_dot_product_attention(q, k, v), scaled_dot_product_attention(k, q, v)]")
probes.value("sdpa", "scaled_dot_product_attention(q, k, v, causal=True)")

"""What the hidden tests of gpt_model need. Inputs and weights are made by the grader (`make_inputs`,
read here as `probes.given`) and loaded into the student's modules; the tests compare with PyTorch's
own functions on the grader's copy, or with the solution run on the same inputs. Modules a question
builds on are replaced by PyTorch's own or by stand-ins, so that one mistake costs its own question."""
import torch
import torch.nn as nn

from autograder.probes import Probes, figures, need, replaced

probes = Probes()

UNSEEN_CFG = {"vocab_size": 23, "context_length": 10, "emb_dim": 24, "n_heads": 3, "n_layers": 3, "drop_rate": 0.0,
              "qkv_bias": False}
EXAMPLE_DIM, EXAMPLE_CONTEXT, EXAMPLE_HEADS = 32, 16, 4  # the lesson's GPT_CONFIG
LAYERNORM_SHAPES = ((3, 7), (2, 4, 10))
GENERATION_CASES = ((3, 8, 4), (1, 6, 2), (5, 5, 8))  # (start length, new tokens, context size)
GENERATION_VOCAB = 11
CAUSAL_SPLIT = 4


def block_weights(g: torch.Generator, d: int, silent: bool = False) -> dict:
    """A pre-LN block's parameters by name (PyTorch's LayerNorm stands in for the student's)."""
    def randn(*shape):
        return torch.randn(*shape, generator=g) * 0.3

    weights = {f"att.{name}.weight": randn(d, d) for name in ("W_query", "W_key", "W_value", "out_proj")}
    weights |= {"att.out_proj.bias": randn(d), "ff.layers.0.weight": randn(4 * d, d), "ff.layers.0.bias": randn(4 * d),
                "ff.layers.2.weight": randn(d, 4 * d), "ff.layers.2.bias": randn(d)}
    for norm in ("norm1", "norm2"):
        weights |= {f"{norm}.weight": 1 + randn(d), f"{norm}.bias": randn(d)}
    if silent:  # attention and feed-forward output zeros: a block with its shortcuts passes x through
        for name in ("att.out_proj.weight", "att.out_proj.bias", "ff.layers.2.weight", "ff.layers.2.bias"):
            weights[name] = torch.zeros_like(weights[name])
    return weights


def causal_triple(g: torch.Generator, *shape: int) -> list:
    """x, x with tokens CAUSAL_SPLIT.. changed, and x with token 0 changed."""
    x = torch.randn(*shape, generator=g)
    late, early = x.clone(), x.clone()
    late[:, CAUSAL_SPLIT:] = torch.randn(*late[:, CAUSAL_SPLIT:].shape, generator=g)
    early[:, 0] = torch.randn(*early[:, 0].shape, generator=g)
    return [x, late, early]


@probes.grader_inputs
def make_inputs(seeds):
    """Runs in the grader: every input, size and weight the probes below give the student's code."""
    g = torch.Generator().manual_seed(seeds[0] + 15)

    def randn(*shape):
        return torch.randn(*shape, generator=g)

    d, vocab, context = UNSEEN_CFG["emb_dim"], UNSEEN_CFG["vocab_size"], UNSEEN_CFG["context_length"]
    gelu_x = randn(5, 9) * 3
    return {
        "tokenizer_start": int(torch.randint(0, 10_000, (1,), generator=g)),
        "layernorm": [{"x": randn(*shape) * 3 + 1, "scale": randn(shape[-1]), "shift": randn(shape[-1])}
                      for shape in LAYERNORM_SHAPES],
        "gelu_x": [gelu_x, gelu_x.flip(0) + 0.5],
        "feedforward": {"x": randn(2, 5, 12), "weights": {"0.weight": randn(48, 12) * 0.3, "0.bias": randn(48) * 0.3,
                                                          "2.weight": randn(12, 48) * 0.3, "2.bias": randn(12) * 0.3}},
        "shortcut": {"x": randn(3, 4), "weights": {f"layers.{i}.0.{kind}": randn(*shape) * 0.5
                                                   for i, out in enumerate([4, 4, 4, 2])
                                                   for kind, shape in (("weight", (out, 4)), ("bias", (out,)))}},
        "block_example": {"weights": block_weights(g, EXAMPLE_DIM), "x": torch.rand(2, 4, EXAMPLE_DIM, generator=g)},
        "block": {"weights": block_weights(g, d), "x": causal_triple(g, 2, 7, d)},
        "silent_block": {"weights": block_weights(g, d, silent=True), "x": randn(2, 7, d)},
        "gpt": {"weights": {"tok_emb.weight": randn(vocab, d), "pos_emb.weight": randn(context, d),
                            "final_norm.weight": 1 + randn(d) * 0.3, "final_norm.bias": randn(d) * 0.3,
                            "out_head.weight": randn(vocab, d) * 0.3},
                "idx": torch.randint(0, vocab, (2, 6), generator=g)},
        "generation": [{"start": torch.randint(0, GENERATION_VOCAB, (2, length), generator=g), "new": new, "context": ctx}
                       for length, new, ctx in GENERATION_CASES],
    }


def load(module: nn.Module, weights: dict, what: str) -> nn.Module:
    """The grader's weights in the student's module; every parameter must be one of them."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"{what}은(는) nn.Module이어야 합니다")
    missing, unexpected = module.load_state_dict(weights, strict=False)
    missing = [name for name in missing if name in dict(module.named_parameters())]
    if missing or unexpected:
        raise TypeError(f"{what}의 파라미터가 수업의 구성과 다릅니다 (없는 것: {missing}, 더 있는 것: {unexpected})")
    return module


class StandInLayerNorm(nn.LayerNorm):
    """PyTorch's LayerNorm under the student's class name and signature."""

    def __init__(self, emb_dim):
        super().__init__(emb_dim)


def stand_in_gelu():
    return nn.GELU(approximate="tanh")


class PassThroughBlock(nn.Module):
    """A block that changes nothing: the model's own parts are graded without the student's block."""

    def __init__(self, cfg):
        super().__init__()

    def forward(self, x):
        return x


class WindowSum(nn.Module):
    """A model whose best next token is the sum of the ids it was given (mod the vocabulary); it
    records how many tokens it was given each time."""

    def __init__(self, vocab: int):
        super().__init__()
        self.vocab, self.seen = vocab, []

    def forward(self, idx):
        self.seen.append(int(idx.shape[1]))
        best = idx.sum(dim=1) % self.vocab
        scores = torch.nn.functional.one_hot(best, self.vocab).float()
        return scores.unsqueeze(1).expand(idx.shape[0], idx.shape[1], self.vocab).contiguous()


# 1 tokenizer
probes.capture("tokenizer", "vocab_size")


@probes.after("tokenizer")
def tokenizer_unseen(ns):
    corpus = need(ns, "corpus")
    start = probes.given("tokenizer_start") % (len(corpus) - 40)
    text = corpus[start:start + 30]
    ids = need(ns, "encode")(text)
    return {"ids": ids, "back": need(ns, "decode")(ids)}


# 2 LayerNorm
probes.capture("layernorm", "out_ln")


@probes.after("layernorm")
def layernorm_unseen(ns):
    cases = []
    for case in probes.given("layernorm"):
        module = need(ns, "LayerNorm")(case["x"].shape[-1])
        with torch.no_grad():
            module.scale.copy_(case["scale"])
            module.shift.copy_(case["shift"])
        cases.append(module(case["x"]))
    return cases


# 3 GELU and its plot
probes.capture("gelu", "gelu_values")


@probes.after("gelu")
def gelu_unseen(ns):
    gelu = need(ns, "GELU")()
    return [gelu(x) for x in probes.given("gelu_x")]


@probes.after("gelu-plot")
def gelu_plot(ns):
    return figures()


# 4 feed-forward
@probes.after("feedforward")
def feedforward_unseen(ns):
    with replaced(ns, "GELU", stand_in_gelu):
        module = need(ns, "FeedForward")({"emb_dim": 12})
    given = probes.given("feedforward")
    layers = getattr(module, "layers", None)
    if not isinstance(layers, nn.Sequential) or len(layers) != 3:
        raise TypeError("FeedForward.layers는 층 세 개(Linear, GELU, Linear)로 된 nn.Sequential이어야 합니다")
    load(layers, given["weights"], "FeedForward.layers")
    return [module(given["x"]), module(given["x"].flip(1))]


# 5 shortcut connections
probes.capture("shortcut", "without_shortcut", "with_shortcut")


@probes.after("shortcut")
def shortcut_unseen(ns):
    given = probes.given("shortcut")
    results = {}
    for use_shortcut in (False, True):
        with replaced(ns, "GELU", stand_in_gelu):
            network = need(ns, "DeepNetwork")([4, 4, 4, 4, 2], use_shortcut)
        load(network, given["weights"], "DeepNetwork")
        results[str(use_shortcut)] = need(ns, "gradient_means")(network, given["x"])
    return results


# 6 transformer block
def stand_in_block(ns, cfg: dict, weights: dict):
    """The student's block on PyTorch's LayerNorm and GELU, holding the grader's weights."""
    with replaced(ns, "LayerNorm", StandInLayerNorm), replaced(ns, "GELU", stand_in_gelu):
        block = need(ns, "TransformerBlock")(cfg).eval()
    return load(block, weights, "TransformerBlock")


@probes.after("block")
def block_example(ns):
    given = probes.given("block_example")
    cfg = dict(UNSEEN_CFG, emb_dim=EXAMPLE_DIM, context_length=EXAMPLE_CONTEXT, n_heads=EXAMPLE_HEADS)
    return stand_in_block(ns, cfg, given["weights"])(given["x"])


@probes.after("block")
def block_unseen(ns):
    given = probes.given("block")
    block = stand_in_block(ns, UNSEEN_CFG, given["weights"])
    return [block(x) for x in given["x"]]  # x, later tokens changed, first token changed


@probes.after("block")
def block_with_silent_sublayers(ns):
    """Attention and feed-forward that output zeros: a block with shortcuts passes x through."""
    given = probes.given("silent_block")
    return stand_in_block(ns, UNSEEN_CFG, given["weights"])(given["x"])


# 7 GPT model
probes.capture("gpt", "total_params")


@probes.after("gpt")
def gpt_unseen(ns):
    cls = need(ns, "GPTModel")
    given = probes.given("gpt")
    with replaced(ns, "LayerNorm", StandInLayerNorm), replaced(ns, "TransformerBlock", PassThroughBlock):
        model = load(cls(UNSEEN_CFG).eval(), given["weights"], "GPTModel")
    idx = given["idx"]
    changed = idx.clone()
    changed[:, 0] = (changed[:, 0] + 1) % UNSEEN_CFG["vocab_size"]
    return {"logits": model(idx), "changed_logits": model(changed)}


@probes.after("gpt")
def gpt_parameters(ns):
    """The parameter count of another configuration: the constructor alone, without calling the model."""
    with replaced(ns, "LayerNorm", StandInLayerNorm), replaced(ns, "GELU", stand_in_gelu):
        return sum(p.numel() for p in need(ns, "GPTModel")(UNSEEN_CFG).parameters())


# 8 greedy generation
def generated(out):
    return out.tolist() if isinstance(out, torch.Tensor) else out


@probes.after("generate-check")
def generation_example(ns):
    """From the check cell's toy_start (lesson data, varied in the second run), 20 tokens with a model
    that sums its input, in a context of the lesson's 16 tokens."""
    model = WindowSum(GENERATION_VOCAB)
    out = need(ns, "generate_greedy")(model, need(ns, "toy_start"), max_new_tokens=20, context_size=EXAMPLE_CONTEXT)
    return {"ids": generated(out), "seen": model.seen}


@probes.after("generate")
def generation_unseen(ns):
    generate = need(ns, "generate_greedy")
    cases = []
    for case in probes.given("generation"):
        model = WindowSum(GENERATION_VOCAB)
        out = generate(model, case["start"], max_new_tokens=case["new"], context_size=case["context"])
        cases.append({"ids": generated(out), "seen": model.seen})
    return cases


# What visible tests compare, from the lesson's own data: these are handed out as checks too.
probes.value("tokenizer", "[sample_ids, sample_text, encode('트랜스포머'), decode(encode('트랜스포머')[::-1])]")
probes.value("ffn-check", "[check_ffn_out, check_ffn(check_ffn_x.flip(1))]")
probes.value("block-check", "[check_out, check_block(check_x.flip(1))]")
probes.value("gpt-check", "[check_logits, check_gpt(check_batch.flip(1))]")
# The lesson model's parameters counted after the cell: total_params alone could be typed back from the printout.
probes.value("gpt", "sum(p.numel() for p in model.parameters())")
probes.value("generate-check", "[toy_ids, generate_greedy(SumModel(), torch.tensor([[4, 0], [2, 5]]), 5, 3).tolist()]")

"""What the hidden tests of transformer_encoder need. The grader builds PyTorch's own modules under
seeds and sends their weights, with the inputs, to this process (`make_inputs`, read here as
`probes.given`); the student's modules are loaded with those weights, and the tests compare their
outputs with the PyTorch modules the grader rebuilds, on its own copy of the inputs."""
import torch
import torch.nn as nn

from autograder.probes import Probes, need, replaced

probes = Probes()

SINUSOIDAL_SIZES = ((40, 16), (7, 4), (100, 32))  # not the lesson's (50, 16)
MHA_SIZES = ((8, 2, (2, 5, 8)), (12, 3, (1, 9, 12)), (16, 4, (3, 4, 16)))
BLOCK_SIZES = ((16, 4, 32, (2, 7, 16)), (8, 2, 24, (3, 5, 8)))


def seed(seeds, k: int) -> int:
    return seeds[k % len(seeds)] + 11 * k


def torch_layer(layer_seed: int, d_model: int, heads: int, d_ff: int) -> nn.TransformerEncoderLayer:
    torch.manual_seed(layer_seed)
    return nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=d_ff, dropout=0.0, batch_first=True).eval()


@probes.grader_inputs
def make_inputs(seeds):
    """Runs in the grader: inputs, and the weights of PyTorch modules built under seeds."""
    g = torch.Generator().manual_seed(seeds[0])

    def randn(*shape):
        return torch.randn(*shape, generator=g)

    def pair(*shape):
        """x, and x with its first token changed."""
        x = randn(*shape)
        changed = x.clone()
        changed[..., 0, :] = randn(*changed[..., 0, :].shape)
        return [x, changed]

    def weights(module):
        return {name: value.detach().clone() for name, value in module.state_dict().items()}

    mha = []
    for k, (d_model, heads, shape) in enumerate(MHA_SIZES):
        torch.manual_seed(seed(seeds, k))
        mha.append({"seed": seed(seeds, k), "d_model": d_model, "heads": heads, "x": pair(*shape),
                    "weights": weights(nn.MultiheadAttention(d_model, heads, batch_first=True))})
    blocks = [{"seed": seed(seeds, k), "sizes": [d_model, heads, d_ff], "x": randn(*shape),
               "weights": weights(torch_layer(seed(seeds, k), d_model, heads, d_ff))}
              for k, (d_model, heads, d_ff, shape) in enumerate(BLOCK_SIZES)]
    stack_seeds = [seed(seeds, 10 + index) for index in range(3)]
    return {
        "sinusoidal_sizes": [list(size) for size in SINUSOIDAL_SIZES],
        "learned": {"table": randn(12, 6), "x": randn(3, 5, 6), "other_x": randn(3, 5, 6)},
        "rope": {"x": randn(2, 9, 8), "q": randn(16), "k": randn(16)},
        "mha": mha, "blocks": blocks,
        "stack": {"seeds": stack_seeds, "x": randn(2, 6, 8),
                  "weights": [weights(torch_layer(s, 8, 2, 16)) for s in stack_seeds]},
        "stand_in_x": pair(2, 3, 6),
    }


def copy_linear(mine, weight, bias, name):
    if not isinstance(mine, (nn.Linear, nn.LayerNorm)) or tuple(mine.weight.shape) != tuple(weight.shape):
        raise TypeError(f"{name} should be a layer with weight of shape {tuple(weight.shape)}")
    with torch.no_grad():
        mine.weight.copy_(weight)
        mine.bias.copy_(bias)


def load_attention(mine, weights: dict, prefix: str = ""):
    in_w, in_b = weights[prefix + "in_proj_weight"], weights[prefix + "in_proj_bias"]
    d = in_w.shape[1]
    for index, name in enumerate(("W_q", "W_k", "W_v")):
        copy_linear(getattr(mine, name, None), in_w[index * d:(index + 1) * d], in_b[index * d:(index + 1) * d], name)
    copy_linear(getattr(mine, "W_o", None), weights[prefix + "out_proj.weight"], weights[prefix + "out_proj.bias"], "W_o")


def load_block(block, weights: dict):
    load_attention(block.attn, weights, "self_attn.")
    for mine, theirs in ((block.ff[0], "linear1"), (block.ff[2], "linear2"), (block.norm1, "norm1"), (block.norm2, "norm2")):
        copy_linear(mine, weights[theirs + ".weight"], weights[theirs + ".bias"], theirs)


# 1.1 sinusoidal
@probes.after("sinusoidal")
def sinusoidal_cases(ns):
    encode = need(ns, "sinusoidal_encoding")
    return [encode(n, d) for n, d in probes.given("sinusoidal_sizes")]


# 1.2 learned positional embedding
@probes.after("learned")
def learned_cases(ns):
    module = need(ns, "LearnedPositionalEmbedding")(12, 6)
    given = probes.given("learned")
    with torch.no_grad():
        module.embedding.weight.copy_(given["table"])
    return {"out": module(given["x"]), "other_out": module(given["other_x"]),
            "parameters": sum(p.numel() for p in module.parameters() if p.requires_grad)}


# 1.3 RoPE
@probes.after("rope")
def rope_cases(ns):
    rope = need(ns, "rope")
    given = probes.given("rope")
    return {"out": rope(given["x"]), "rq": rope(given["q"].expand(9, 16)), "rk": rope(given["k"].expand(9, 16))}


# 2 multi-head attention
@probes.after("mha")
def mha_cases(ns):
    cls = need(ns, "MultiHeadSelfAttention")
    outputs = []
    for case in probes.given("mha"):
        mine = cls(case["d_model"], case["heads"])
        load_attention(mine, case["weights"])
        outputs.append([mine(x) for x in case["x"]])  # x, and x with its first token changed
    return outputs


# The lesson's own checks (seeded cells the grader varies in its second run): the student's module
# loaded from PyTorch's by the notebook's helper, on the lesson's x.
@probes.after("mha-check")
def mha_lesson_check(ns):
    return need(ns, "my_mha")(need(ns, "x"))


@probes.after("block-check")
def block_lesson_check(ns):
    return need(ns, "block")(need(ns, "x"))


# 3 encoder block
@probes.after("encoder-block")
def block_cases(ns):
    cls = need(ns, "EncoderBlock")
    outputs = []
    for case in probes.given("blocks"):
        block = cls(*case["sizes"])
        load_block(block, case["weights"])
        outputs.append(block(case["x"]))
    return outputs


@probes.after("encoder")
def encoder_with_torch_blocks(ns):
    """The student's whole encoder (their blocks) against nn.TransformerEncoder, 3 layers."""
    encoder = need(ns, "Encoder")(3, 8, 2, 16)
    stack = probes.given("stack")
    for block, weights in zip(encoder.layers, stack["weights"]):
        load_block(block, weights)
    return encoder(stack["x"])


# 3.1 the stack itself: blocks replaced by stand-ins that record how they were made and used
class StandInBlock(nn.Module):
    made: list = []

    def __init__(self, d_model, num_heads, d_ff):
        super().__init__()
        StandInBlock.made.append([d_model, num_heads, d_ff])
        self.number = len(StandInBlock.made)

    def forward(self, x):
        return x * (self.number + 1) + self.number


@probes.after("encoder")
def encoder_with_stand_in_blocks(ns):
    StandInBlock.made = []
    with replaced(ns, "EncoderBlock", StandInBlock):
        encoder = need(ns, "Encoder")(4, 6, 3, 10)
        made = list(StandInBlock.made)
        out, changed = (encoder(x) for x in probes.given("stand_in_x"))
    return {"made": made, "out": out, "changed_out": changed}


# What visible tests compare, from the lesson's own data: these are handed out as checks too.
probes.value("sinusoidal", "[pe, sinusoidal_encoding(7, 4)]")
probes.value("learned", "[learned(torch.zeros(2, 3, 4)), learned(torch.ones(1, 2, 4))]")
probes.capture("rope", "scores")
probes.value("mha-check", "[my_mha(x), my_mha(x.flip(1))]")
probes.capture("block-check", "x")
probes.value("block-check", "[block(x), block(x.flip(1))]")
ENCODER_CHECK = ("{'블록 수': len(encoder.layers), '서로 다른 블록 수': len({id(b) for b in encoder.layers}),"
                 " '블록을 차례로 통과한 값과 같음':"
                 " encoder(x).shape == x.shape"
                 " and torch.allclose(encoder(x), encoder.layers[2](encoder.layers[1](encoder.layers[0](x))), equal_nan=True),"
                 " '입력이 바뀌면 출력도 바뀜': not torch.allclose(encoder(x), encoder(x.flip(1)), equal_nan=True),"
                 " '출력이 입력 그대로가 아님': not torch.allclose(encoder(x), x, equal_nan=True)}")
# The stack on the lesson's x, through its own blocks: whether it chains them in order does not
# depend on EncoderBlock being right, so a mistake there costs no point here.
probes.value("encoder", ENCODER_CHECK)

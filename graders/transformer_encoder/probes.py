"""What the hidden tests of transformer_encoder need. PyTorch's own modules, built under a seed,
lend their weights to the student's modules here; the grader rebuilds them under the same seed and
compares outputs, so torch itself is the oracle and no expected value enters this process."""
import torch
import torch.nn as nn

from autograder.probes import Probes, need, replaced

probes = Probes()


def seed(k: int) -> int:
    return probes.seeds[k % len(probes.seeds)] + 11 * k


def unseen(*shape: int, k: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed(k)))


def copy_linear(mine, weight, bias, name):
    if not isinstance(mine, (nn.Linear, nn.LayerNorm)) or tuple(mine.weight.shape) != tuple(weight.shape):
        raise TypeError(f"{name} should be a layer with weight of shape {tuple(weight.shape)}")
    with torch.no_grad():
        mine.weight.copy_(weight)
        mine.bias.copy_(bias)


def load_attention(mine, theirs: nn.MultiheadAttention):
    d = theirs.embed_dim
    for index, name in enumerate(("W_q", "W_k", "W_v")):
        copy_linear(getattr(mine, name, None), theirs.in_proj_weight[index * d:(index + 1) * d],
                    theirs.in_proj_bias[index * d:(index + 1) * d], name)
    copy_linear(getattr(mine, "W_o", None), theirs.out_proj.weight, theirs.out_proj.bias, "W_o")


def load_block(block, layer: nn.TransformerEncoderLayer):
    load_attention(block.attn, layer.self_attn)
    copy_linear(block.ff[0], layer.linear1.weight, layer.linear1.bias, "ff[0]")
    copy_linear(block.ff[2], layer.linear2.weight, layer.linear2.bias, "ff[2]")
    copy_linear(block.norm1, layer.norm1.weight, layer.norm1.bias, "norm1")
    copy_linear(block.norm2, layer.norm2.weight, layer.norm2.bias, "norm2")


def torch_layer(k: int, d_model: int, heads: int, d_ff: int) -> nn.TransformerEncoderLayer:
    torch.manual_seed(seed(k))
    return nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=d_ff, dropout=0.0, batch_first=True)


# 1.1 sinusoidal
@probes.after("sinusoidal")
def sinusoidal_cases(ns):
    encode = need(ns, "sinusoidal_encoding")
    return [{"max_len": n, "d_model": d, "pe": encode(n, d)} for n, d in ((50, 16), (7, 4), (100, 32))]


# 1.2 learned positional embedding
@probes.after("learned")
def learned_cases(ns):
    module = need(ns, "LearnedPositionalEmbedding")(12, 6)
    table = unseen(12, 6, k=0)
    with torch.no_grad():
        module.embedding.weight.copy_(table)
    x = unseen(3, 5, 6, k=1)
    return {"table": table, "x": x, "out": module(x),
            "parameters": sum(p.numel() for p in module.parameters() if p.requires_grad)}


# 1.3 RoPE
@probes.after("rope")
def rope_cases(ns):
    rope = need(ns, "rope")
    x = unseen(2, 9, 8, k=0)
    q, k = unseen(16, k=1).expand(9, 16), unseen(16, k=2).expand(9, 16)
    return {"x": x, "out": rope(x), "rq": rope(q), "rk": rope(k), "q": q}


# 2 multi-head attention
@probes.after("mha")
def mha_cases(ns):
    cls = need(ns, "MultiHeadSelfAttention")
    cases = []
    for k, (d_model, heads, shape) in enumerate(((8, 2, (2, 5, 8)), (12, 3, (1, 9, 12)), (16, 4, (3, 4, 16)))):
        torch.manual_seed(seed(k))
        theirs = nn.MultiheadAttention(d_model, heads, batch_first=True)
        mine = cls(d_model, heads)
        load_attention(mine, theirs)
        x = unseen(*shape, k=k + 3)
        cases.append({"seed": seed(k), "d_model": d_model, "heads": heads, "x": x, "out": mine(x)})
    return cases


# 3 encoder block
@probes.after("encoder-block")
def block_cases(ns):
    cls = need(ns, "EncoderBlock")
    cases = []
    for k, (d_model, heads, d_ff, shape) in enumerate(((16, 4, 32, (2, 7, 16)), (8, 2, 24, (3, 5, 8)))):
        block = cls(d_model, heads, d_ff)
        load_block(block, torch_layer(k, d_model, heads, d_ff))
        x = unseen(*shape, k=k + 5)
        cases.append({"seed": seed(k), "d_model": d_model, "heads": heads, "d_ff": d_ff, "x": x, "out": block(x)})
    return cases


@probes.after("encoder")
def encoder_with_torch_blocks(ns):
    """The student's whole encoder (their blocks) against nn.TransformerEncoder, 3 layers."""
    encoder = need(ns, "Encoder")(3, 8, 2, 16)
    for index, block in enumerate(encoder.layers):
        load_block(block, torch_layer(10 + index, 8, 2, 16))
    x = unseen(2, 6, 8, k=9)
    return {"seeds": [seed(10 + index) for index in range(3)], "x": x, "out": encoder(x)}


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
        out = encoder(unseen(2, 3, 6, k=4))
    return {"made": StandInBlock.made, "out": out}


# What visible tests compare, from the lesson's own data: these are handed out as checks too.
probes.capture("sinusoidal", "pe")
probes.value("learned", "learned(torch.zeros(2, 3, 4))")
probes.capture("rope", "scores")
probes.value("mha-check", "my_mha(x)")
probes.capture("block-check", "x")
probes.value("block-check", "block(x)")
probes.value("encoder", "len(encoder.layers)")

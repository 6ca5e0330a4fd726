"""What the hidden tests of gpt_model need. Inputs and weights come from seeds (the tests make
them the same way in the grader, for PyTorch's oracles); modules a question builds on are replaced by PyTorch's own or by
stand-ins, so that one mistake costs its own question."""
import torch
import torch.nn as nn

from autograder.probes import Probes, figures, need, replaced

probes = Probes()


def seed(k: int) -> int:
    return probes.seeds[k % len(probes.seeds)] + 101 * k


def unseen(*shape: int, k: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed(k)))


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


UNSEEN_CFG = {"vocab_size": 23, "context_length": 10, "emb_dim": 24, "n_heads": 3, "n_layers": 3, "drop_rate": 0.0,
              "qkv_bias": False}

# 1 tokenizer
probes.capture("tokenizer", "vocab_size", "sample_ids", "sample_text")


@probes.after("tokenizer")
def tokenizer_unseen(ns):
    corpus = need(ns, "corpus")
    start = seed(0) * 37 % (len(corpus) - 40)
    text = corpus[start:start + 30]
    ids = need(ns, "encode")(text)
    return {"ids": ids, "back": need(ns, "decode")(ids)}


# 2 LayerNorm
probes.capture("layernorm", "out_ln")


@probes.after("layernorm")
def layernorm_unseen(ns):
    cases = []
    for k, shape in enumerate([(3, 7), (2, 4, 10)]):
        module = need(ns, "LayerNorm")(shape[-1])
        with torch.no_grad():
            module.scale.copy_(unseen(shape[-1], k=k + 10))
            module.shift.copy_(unseen(shape[-1], k=k + 20))
        cases.append(module(unseen(*shape, k=k) * 3 + 1))
    return cases


# 3 GELU and its plot
probes.capture("gelu", "gelu_values")


@probes.after("gelu")
def gelu_unseen(ns):
    return need(ns, "GELU")()(unseen(5, 9, k=3) * 3)


@probes.after("gelu-plot")
def gelu_plot(ns):
    return figures()


# 4 feed-forward
@probes.after("feedforward")
def feedforward_unseen(ns):
    with replaced(ns, "GELU", stand_in_gelu):
        module = need(ns, "FeedForward")({"emb_dim": 12})
    torch.manual_seed(seed(4))
    first, second = nn.Linear(12, 48), nn.Linear(48, 12)
    layers = getattr(module, "layers", None)
    if not isinstance(layers, nn.Sequential) or len(layers) != 3:
        raise TypeError("FeedForward.layers should be an nn.Sequential of three layers")
    for mine, theirs in ((layers[0], first), (layers[2], second)):
        if not isinstance(mine, nn.Linear) or mine.weight.shape != theirs.weight.shape:
            raise TypeError(f"FeedForward.layers should hold nn.Linear layers of shape {tuple(theirs.weight.shape)}")
        with torch.no_grad():
            mine.weight.copy_(theirs.weight)
            mine.bias.copy_(theirs.bias)
    return module(unseen(2, 5, 12, k=5))


# 5 shortcut connections
probes.capture("shortcut", "without_shortcut", "with_shortcut")


@probes.after("shortcut")
def shortcut_unseen(ns):
    results = {}
    for use_shortcut in (False, True):
        with replaced(ns, "GELU", stand_in_gelu):
            torch.manual_seed(seed(6))
            network = need(ns, "DeepNetwork")([4, 4, 4, 4, 2], use_shortcut)
        results[str(use_shortcut)] = need(ns, "gradient_means")(network, unseen(3, 4, k=6))
    return results


# 6 transformer block
def stand_in_block(ns, cfg: dict, block_seed: int):
    """The student's block on PyTorch's LayerNorm and GELU, built under a seed."""
    with replaced(ns, "LayerNorm", StandInLayerNorm), replaced(ns, "GELU", stand_in_gelu):
        torch.manual_seed(block_seed)
        return need(ns, "TransformerBlock")(cfg).eval()


def unseen_block(ns):
    return stand_in_block(ns, UNSEEN_CFG, seed(7))


@probes.after("block")
def block_example(ns):
    cfg = need(ns, "GPT_CONFIG")
    x = torch.rand(2, 4, cfg["emb_dim"], generator=torch.Generator().manual_seed(123))
    return stand_in_block(ns, cfg, 123)(x)


@probes.after("block")
def block_unseen(ns):
    return unseen_block(ns)(unseen(2, 7, 24, k=7))


@probes.after("block")
def block_with_silent_sublayers(ns):
    """Attention and feed-forward made to output zeros: a block with shortcuts passes x through."""
    block = unseen_block(ns)
    with torch.no_grad():
        for layer in (block.att.out_proj, block.ff.layers[2]):
            layer.weight.zero_()
            layer.bias.zero_()
    return block(unseen(2, 7, 24, k=8))


# 7 GPT model
probes.capture("gpt", "total_params")


@probes.after("gpt")
def gpt_example(ns):
    """The example batch through the student's model with pass-through blocks and PyTorch's LayerNorm."""
    with replaced(ns, "LayerNorm", StandInLayerNorm), replaced(ns, "TransformerBlock", PassThroughBlock):
        torch.manual_seed(123)
        model = need(ns, "GPTModel")(need(ns, "GPT_CONFIG")).eval()
    return model(need(ns, "batch"))


@probes.after("gpt")
def gpt_unseen(ns):
    cls = need(ns, "GPTModel")
    with replaced(ns, "LayerNorm", StandInLayerNorm), replaced(ns, "GELU", stand_in_gelu):
        parameters = sum(p.numel() for p in cls(UNSEEN_CFG).parameters())
        with replaced(ns, "TransformerBlock", PassThroughBlock):
            torch.manual_seed(seed(9))
            model = cls(UNSEEN_CFG).eval()
    idx = torch.randint(0, UNSEEN_CFG["vocab_size"], (2, 6), generator=torch.Generator().manual_seed(seed(9)))
    return {"parameters": parameters, "logits": model(idx)}


# 8 greedy generation
@probes.after("generate")
def generation_example(ns):
    """From "GPT는 ", 20 tokens with a model that sums its input (vocabulary and context of GPT_CONFIG)."""
    cfg = need(ns, "GPT_CONFIG")
    model = WindowSum(cfg["vocab_size"])
    out = need(ns, "generate_greedy")(model, need(ns, "start"), max_new_tokens=20, context_size=cfg["context_length"])
    return {"ids": out.tolist() if isinstance(out, torch.Tensor) else out, "seen": model.seen}


@probes.after("generate")
def generation_unseen(ns):
    generate = need(ns, "generate_greedy")
    cases = []
    for k, (length, new, context) in enumerate([(3, 8, 4), (1, 6, 2), (5, 5, 8)]):
        model = WindowSum(11)
        start = torch.randint(0, 11, (2, length), generator=torch.Generator().manual_seed(seed(k + 11)))
        out = generate(model, start, max_new_tokens=new, context_size=context)
        cases.append({"ids": out.tolist() if isinstance(out, torch.Tensor) else out, "seen": model.seen})
    return cases

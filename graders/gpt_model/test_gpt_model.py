"""Hidden tests of gpt_model: PyTorch's own functions (layer_norm, gelu), a parameter-count formula
and a simulated greedy decoder are the oracles; inputs are remade here from the same seeds."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from autograder.testing import expect_close, expect_equal, expect_same, expect_tensor

question = pytest.mark.question
hidden = pytest.mark.hidden
SEEDS = (0, 1, 2)  # assignment.yaml's seeds, as the probes use them
CFG = {"vocab_size": 23, "context_length": 10, "emb_dim": 24, "n_heads": 3, "n_layers": 3}  # probes.UNSEEN_CFG


def seed(k: int) -> int:
    return SEEDS[k % len(SEEDS)] + 101 * k


def unseen(*shape: int, k: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed(k)))


# g1: tokenizer
@question("g1")
def test_vocabulary_size(student, reference):
    """the vocabulary: every distinct character of corpus.txt"""
    expect_same(student, reference, "tokenizer:vocab_size")


@question("g1")
def test_sample_ids_and_text(student, reference):
    """encode("어텐션") and decoding it back"""
    expect_same(student, reference, "tokenizer:sample_ids", "encode('어텐션')")
    expect_same(student, reference, "tokenizer:sample_text", "decode(encode('어텐션'))")


@question("g1")
@hidden
def test_tokenizer_on_other_text(student, reference):
    """encode and decode on another passage of the corpus"""
    expect_same(student, reference, "tokenizer_unseen", "encode/decode")


# g2: LayerNorm
@question("g2")
def test_layernorm_example(student, reference):
    """the normalised example batch"""
    expect_same(student, reference, "layernorm:out_ln", "out_ln", atol=1e-5)


@question("g2")
@hidden
def test_layernorm_matches_torch(student, reference):
    """LayerNorm with given scale and shift on unseen shapes, against F.layer_norm"""
    cases = student["layernorm_unseen"]
    if not isinstance(cases, list) or len(cases) != 2:
        raise AssertionError("LayerNorm could not be checked on other shapes")
    for k, (shape, got) in enumerate(zip([(3, 7), (2, 4, 10)], cases)):
        d = shape[-1]
        expected = F.layer_norm(unseen(*shape, k=k) * 3 + 1, (d,), unseen(d, k=k + 10), unseen(d, k=k + 20), eps=1e-5)
        expect_close(got, expected, f"LayerNorm({d}) on shape {shape}", atol=1e-5)


# g3: GELU and its plot
@question("g3")
def test_gelu_values(student, reference):
    """GELU on -3..3"""
    expect_same(student, reference, "gelu:gelu_values")


@question("g3")
@hidden
def test_gelu_matches_torch(student, reference):
    """GELU on unseen inputs, against F.gelu(approximate="tanh")"""
    expect_close(student["gelu_unseen"], F.gelu(unseen(5, 9, k=3) * 3, approximate="tanh"), "GELU", atol=1e-5)


@question("g3")
def test_gelu_plot(student, reference):
    """the figure: GELU and ReLU curves, title, legend"""
    expect_same(student, reference, "gelu_plot", "your figure")


@question("g3")
@hidden
def test_gelu_plot_draws_gelu(student, reference):
    """the line labelled GELU is F.gelu over xs"""
    drawn = student["gelu_plot"]
    lines = [line for figure in drawn for ax in figure["axes"] for line in ax["lines"]] if isinstance(drawn, list) else []
    gelu = [line for line in lines if isinstance(line, dict) and line.get("label") == "GELU"]
    assert gelu, "no line labelled 'GELU' in your figure"
    xs = torch.linspace(-4, 4, 81, dtype=torch.float64)
    expect_close(gelu[0]["y"], F.gelu(xs, approximate="tanh"), "the GELU line", atol=1e-4)


# g4: feed-forward
@question("g4")
@hidden
def test_feedforward_with_given_weights(student, reference):
    """FeedForward(12) with given weights, against Linear -> GELU -> Linear"""
    torch.manual_seed(seed(4))
    first, second = nn.Linear(12, 48), nn.Linear(48, 12)
    with torch.no_grad():
        expected = second(F.gelu(first(unseen(2, 5, 12, k=5)), approximate="tanh"))
    expect_close(student["feedforward_unseen"], expected, "FeedForward output")


# g5: shortcut connections
@question("g5")
def test_gradient_means(student, reference):
    """mean absolute gradients without and with shortcuts"""
    expect_same(student, reference, "shortcut:without_shortcut", "without_shortcut", rtol=1e-3)
    expect_same(student, reference, "shortcut:with_shortcut", "with_shortcut", rtol=1e-3)


@question("g5")
@hidden
def test_gradient_means_on_another_network(student, reference):
    """another network and input, under a seed"""
    expect_same(student, reference, "shortcut_unseen", "gradient_means", rtol=1e-3)


# g6: transformer block
@question("g6")
def test_block_output(student, reference):
    """the block (built under seed 123) on an example input"""
    expect_same(student, reference, "block_example", "TransformerBlock output")


@question("g6")
@hidden
@pytest.mark.weight(2)
def test_block_unseen_sizes(student, reference):
    """a block with 24 dimensions and 3 heads, under a seed"""
    expect_same(student, reference, "block_unseen", "TransformerBlock output")


@question("g6")
@hidden
def test_block_keeps_its_shortcuts(student, reference):
    """with attention and feed-forward silenced, the block passes its input through"""
    expect_close(student["block_with_silent_sublayers"], unseen(2, 7, 24, k=8), "block output with silent sublayers")


# g7: GPT model
def parameter_count(cfg: dict) -> int:
    d, v, c = cfg["emb_dim"], cfg["vocab_size"], cfg["context_length"]
    attention = 3 * d * d + d * d + d
    feed_forward = d * 4 * d + 4 * d + 4 * d * d + d
    block = attention + feed_forward + 2 * 2 * d
    return v * d + c * d + cfg["n_layers"] * block + 2 * d + d * v


@question("g7")
def test_parameter_count(student, reference):
    """total parameters of GPTModel(GPT_CONFIG)"""
    expect_same(student, reference, "gpt:total_params", "total_params")


@question("g7")
def test_logits(student, reference):
    """logits of the example batch (blocks left out, so that only the model's own parts count)"""
    expect_same(student, reference, "gpt_example", "logits")


@question("g7")
@hidden
def test_parameter_count_unseen(student, reference):
    """parameters of another configuration, against the formula"""
    expect_equal(student["gpt_unseen"]["parameters"], parameter_count(CFG), "parameters of GPTModel(other config)")


@question("g7")
@hidden
def test_model_without_blocks(student, reference):
    """embeddings, final norm and output head (blocks left out), against the same layers here"""
    torch.manual_seed(seed(9))
    tok, pos = nn.Embedding(CFG["vocab_size"], CFG["emb_dim"]), nn.Embedding(CFG["context_length"], CFG["emb_dim"])
    head = nn.Linear(CFG["emb_dim"], CFG["vocab_size"], bias=False)
    idx = torch.randint(0, CFG["vocab_size"], (2, 6), generator=torch.Generator().manual_seed(seed(9)))
    with torch.no_grad():
        expected = head(F.layer_norm(tok(idx) + pos(torch.arange(6)), (CFG["emb_dim"],)))
    logits = student["gpt_unseen"]["logits"]
    expect_close(expect_tensor(logits, "logits"), expected, "GPTModel logits (blocks left out)")


# g8: greedy generation
@question("g8")
def test_generated_ids(student, reference):
    """20 ids generated from "GPT는 " by a model that sums its input"""
    expect_same(student, reference, "generation_example", "generate_greedy")


def greedy(start: list[int], new: int, context: int, vocab: int) -> tuple[list[int], list[int]]:
    ids, seen = list(start), []
    for _ in range(new):
        window = ids[-context:]
        seen.append(len(window))
        ids.append(sum(window) % vocab)
    return ids, seen


@question("g8")
@hidden
@pytest.mark.weight(2)
def test_generation_keeps_to_the_context(student, reference):
    """with a model that sums its input, only the last context_size tokens are fed"""
    cases = student["generation_unseen"]
    if not isinstance(cases, list) or len(cases) != 3:
        raise AssertionError("generate_greedy could not be checked on other models")
    for k, ((length, new, context), case) in enumerate(zip([(3, 8, 4), (1, 6, 2), (5, 5, 8)], cases)):
        start = torch.randint(0, 11, (2, length), generator=torch.Generator().manual_seed(seed(k + 11))).tolist()
        rows = [greedy(row, new, context, 11) for row in start]
        what = f"generate_greedy(max_new_tokens={new}, context_size={context})"
        assert isinstance(case, dict), f"{what} could not be checked"
        expect_equal(case.get("seen"), rows[0][1], f"{what}: tokens fed to the model at each step")
        expect_equal(case.get("ids"), [ids for ids, _ in rows], f"{what}: generated ids")

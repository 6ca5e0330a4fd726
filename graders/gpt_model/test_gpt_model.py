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
    """어휘: corpus.txt에 나오는 서로 다른 모든 글자"""
    expect_same(student, reference, "tokenizer:vocab_size")


@question("g1")
def test_sample_ids_and_text(student, reference):
    """encode("어텐션")과 그것을 다시 decode한 결과"""
    expect_same(student, reference, "tokenizer:sample_ids", "encode('어텐션')")
    expect_same(student, reference, "tokenizer:sample_text", "decode(encode('어텐션'))")


@question("g1")
@hidden
def test_tokenizer_on_other_text(student, reference):
    """말뭉치의 다른 구절에서의 encode와 decode"""
    expect_same(student, reference, "tokenizer_unseen", "encode/decode")


# g2: LayerNorm
@question("g2")
def test_layernorm_example(student, reference):
    """정규화한 예제 배치"""
    expect_same(student, reference, "layernorm:out_ln", "out_ln", atol=1e-5)


@question("g2")
@hidden
def test_layernorm_matches_torch(student, reference):
    """주어진 scale과 shift, 처음 보는 모양에서 F.layer_norm과 같은 LayerNorm"""
    cases = student["layernorm_unseen"]
    if not isinstance(cases, list) or len(cases) != 2:
        raise AssertionError("LayerNorm could not be checked on other shapes")
    for k, (shape, got) in enumerate(zip([(3, 7), (2, 4, 10)], cases)):
        d = shape[-1]
        expected = F.layer_norm(unseen(*shape, k=k) * 3 + 1, (d,), unseen(d, k=k + 10), unseen(d, k=k + 20), eps=1e-5)
        expect_close(got, expected, f"모양 {shape}에서의 LayerNorm({d})", atol=1e-5)


# g3: GELU and its plot
@question("g3")
def test_gelu_values(student, reference):
    """-3..3에서의 GELU"""
    expect_same(student, reference, "gelu:gelu_values")


@question("g3")
@hidden
def test_gelu_matches_torch(student, reference):
    """처음 보는 입력에서 F.gelu(approximate="tanh")와 같은 GELU"""
    expect_close(student["gelu_unseen"], F.gelu(unseen(5, 9, k=3) * 3, approximate="tanh"), "GELU", atol=1e-5)


@question("g3")
def test_gelu_plot(student, reference):
    """그림: GELU와 ReLU 곡선, 제목, 범례"""
    expect_same(student, reference, "gelu_plot", "your figure")


@question("g3")
@hidden
def test_gelu_plot_draws_gelu(student, reference):
    """GELU라는 이름의 선이 xs에서의 F.gelu"""
    drawn = student["gelu_plot"]
    lines = [line for figure in drawn for ax in figure["axes"] for line in ax["lines"]] if isinstance(drawn, list) else []
    gelu = [line for line in lines if isinstance(line, dict) and line.get("label") == "GELU"]
    assert gelu, "그림에 'GELU'라는 이름의 선이 없습니다"
    xs = torch.linspace(-4, 4, 81, dtype=torch.float64)
    expect_close(gelu[0]["y"], F.gelu(xs, approximate="tanh"), "the GELU line", atol=1e-4)


# g4: feed-forward
@question("g4")
@hidden
def test_feedforward_with_given_weights(student, reference):
    """주어진 가중치의 FeedForward(12)가 Linear -> GELU -> Linear와 같음"""
    torch.manual_seed(seed(4))
    first, second = nn.Linear(12, 48), nn.Linear(48, 12)
    with torch.no_grad():
        expected = second(F.gelu(first(unseen(2, 5, 12, k=5)), approximate="tanh"))
    expect_close(student["feedforward_unseen"], expected, "FeedForward output")


# g5: shortcut connections
@question("g5")
def test_gradient_means(student, reference):
    """지름길 연결이 없을 때와 있을 때의 평균 절대 기울기"""
    expect_same(student, reference, "shortcut:without_shortcut", "without_shortcut", rtol=1e-3)
    expect_same(student, reference, "shortcut:with_shortcut", "with_shortcut", rtol=1e-3)


@question("g5")
@hidden
def test_gradient_means_on_another_network(student, reference):
    """seed를 정한 다른 신경망과 입력"""
    expect_same(student, reference, "shortcut_unseen", "gradient_means", rtol=1e-3)


# g6: transformer block
@question("g6")
def test_block_output(student, reference):
    """예제 입력에서의 블록 (seed 123으로 만듦)"""
    expect_same(student, reference, "block_example", "TransformerBlock output")


@question("g6")
@hidden
@pytest.mark.weight(2)
def test_block_unseen_sizes(student, reference):
    """seed를 정한 24차원, 헤드 3개짜리 블록"""
    expect_same(student, reference, "block_unseen", "TransformerBlock output")


@question("g6")
@hidden
def test_block_keeps_its_shortcuts(student, reference):
    """어텐션과 피드포워드를 끄면 블록이 입력을 그대로 내보냄"""
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
    """GPTModel(GPT_CONFIG)의 전체 파라미터 수"""
    expect_same(student, reference, "gpt:total_params", "total_params")


@question("g7")
def test_logits(student, reference):
    """예제 배치의 로짓 (블록을 빼서 모델 자체의 부분만 봄)"""
    expect_same(student, reference, "gpt_example", "logits")


@question("g7")
@hidden
def test_parameter_count_unseen(student, reference):
    """다른 설정의 파라미터 수가 공식과 같음"""
    expect_equal(student["gpt_unseen"]["parameters"], parameter_count(CFG), "parameters of GPTModel(other config)")


@question("g7")
@hidden
def test_model_without_blocks(student, reference):
    """임베딩, 마지막 정규화, 출력 헤드 (블록 제외)가 같은 층과 같음"""
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
    """입력을 더하기만 하는 모델로 "GPT는 "에서 생성한 id 20개"""
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
    """입력을 더하기만 하는 모델에 마지막 context_size개 토큰만 들어감"""
    cases = student["generation_unseen"]
    if not isinstance(cases, list) or len(cases) != 3:
        raise AssertionError("generate_greedy could not be checked on other models")
    for k, ((length, new, context), case) in enumerate(zip([(3, 8, 4), (1, 6, 2), (5, 5, 8)], cases)):
        start = torch.randint(0, 11, (2, length), generator=torch.Generator().manual_seed(seed(k + 11))).tolist()
        rows = [greedy(row, new, context, 11) for row in start]
        what = f"generate_greedy(max_new_tokens={new}, context_size={context})"
        assert isinstance(case, dict), f"{what}: 확인할 수 없었습니다"
        expect_equal(case.get("seen"), rows[0][1], f"{what}: 단계마다 모델에 들어간 토큰")
        expect_equal(case.get("ids"), [ids for ids, _ in rows], f"{what}: 생성한 id")

"""Hidden tests of gpt_model: PyTorch's own functions (layer_norm, gelu, a pre-LN block written with
them), a parameter-count formula and a simulated greedy decoder are the oracles, evaluated here on
the inputs and weights the grader made (`given`), never on values a notebook sent."""
import pytest
import torch
import torch.nn.functional as F

from autograder.diagnosis import Mistake
from autograder.i18n import _
from autograder.testing import (
    expect_causal,
    expect_close,
    expect_equal,
    expect_nontrivial,
    expect_responds,
    expect_same,
    expect_tensor,
)

question = pytest.mark.question
hidden = pytest.mark.hidden
CFG = {"vocab_size": 23, "context_length": 10, "emb_dim": 24, "n_heads": 3, "n_layers": 3}  # probes.UNSEEN_CFG
CAUSAL_SPLIT = 4  # probes.CAUSAL_SPLIT


def pair(got, what: str) -> list:
    if not isinstance(got, list) or len(got) != 2:
        raise AssertionError(f"{what}: 입력 두 개에 대한 출력이 있어야 합니다")
    return got


def with_cause(failure: AssertionError, cause: str) -> AssertionError:
    return AssertionError(f"{failure} — " + _("likely cause: {cause}").format(cause=cause))


# Oracles: the lesson's modules written with PyTorch's functions, on the grader's weights.
def attention(x: torch.Tensor, w: dict, heads: int) -> torch.Tensor:
    b, t, d = x.shape
    q, k, v = (F.linear(x, w[f"att.{name}.weight"]).view(b, t, heads, d // heads).transpose(1, 2)
               for name in ("W_query", "W_key", "W_value"))
    mask = torch.ones(t, t, dtype=torch.bool).tril()
    context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask).transpose(1, 2).reshape(b, t, d)
    return F.linear(context, w["att.out_proj.weight"], w["att.out_proj.bias"])


def feed_forward(x: torch.Tensor, w: dict, prefix: str = "") -> torch.Tensor:
    hidden_ = F.gelu(F.linear(x, w[prefix + "0.weight"], w[prefix + "0.bias"]), approximate="tanh")
    return F.linear(hidden_, w[prefix + "2.weight"], w[prefix + "2.bias"])


def block(x: torch.Tensor, w: dict, heads: int, shortcuts: bool = True) -> torch.Tensor:
    d = x.shape[-1]
    norm = {n: (lambda y, n=n: F.layer_norm(y, (d,), w[f"{n}.weight"], w[f"{n}.bias"])) for n in ("norm1", "norm2")}
    a = attention(norm["norm1"](x), w, heads)
    x = x + a if shortcuts else a
    f = feed_forward(norm["norm2"](x), w, "ff.layers.")
    return x + f if shortcuts else f


def no_shortcut() -> str:
    return "숏컷 연결이 없음 — 어텐션과 피드포워드의 출력에 입력 x를 다시 더하지 않음"


def unbiased_variance() -> str:
    return "분산을 n-1로 나눔 (unbiased) — LayerNorm은 n으로 나눈 분산(unbiased=False)을 씀"


def whole_history() -> str:
    return "idx 전체를 모델에 넣음 — 마지막 context_size개 토큰(idx[:, -context_size:])만 넣어야 함"


# g1: tokenizer
@question("g1")
def test_vocabulary_size(student, reference):
    """어휘: corpus.txt에 나오는 서로 다른 모든 글자"""
    expect_same(student, reference, "tokenizer:vocab_size")


@question("g1")
def test_sample_ids_and_text(student, reference):
    """수업의 encode("어텐션")과 decode, "트랜스포머"의 encode와 그 id를 뒤집어 decode한 결과"""
    expect_same(student, reference,
                "tokenizer:[sample_ids, sample_text, encode('트랜스포머'), decode(encode('트랜스포머')[::-1])]")


@question("g1")
@hidden
def test_tokenizer_on_other_text(student, reference):
    """말뭉치의 다른 구절에서의 encode와 decode"""
    expect_same(student, reference, "tokenizer_unseen", "encode/decode")


# g2: LayerNorm
@question("g2")
def test_layernorm_example(student, reference):
    """정규화한 예제 배치"""
    def unbiased():
        x = torch.randn(2, 5, generator=torch.Generator().manual_seed(123))  # the lesson's batch_example
        return (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True) + 1e-5)

    expect_same(student, reference, "layernorm:out_ln", "out_ln", atol=1e-5, mistakes=[Mistake(unbiased_variance, unbiased)])


@question("g2")
@hidden
def test_layernorm_matches_torch(student, reference, given):
    """주어진 scale과 shift, 처음 보는 모양에서 F.layer_norm과 같은 LayerNorm"""
    cases = student["layernorm_unseen"]
    if not isinstance(cases, list) or len(cases) != len(given["layernorm"]):
        raise AssertionError("LayerNorm을 다른 모양에서 확인할 수 없었습니다")
    for case, got in zip(given["layernorm"], cases):
        x = case["x"]
        d = x.shape[-1]
        what = f"모양 {tuple(x.shape)}에서의 LayerNorm({d})"
        expect_nontrivial(got, what, x)
        expect_close(got, F.layer_norm(x, (d,), case["scale"], case["shift"], eps=1e-5), what, atol=1e-5)


# g3: GELU and its plot
@question("g3")
def test_gelu_values(student, reference):
    """-3..3에서의 GELU"""
    expect_same(student, reference, "gelu:gelu_values")


@question("g3")
@hidden
def test_gelu_matches_torch(student, reference, given):
    """처음 보는 입력에서 F.gelu(approximate="tanh")와 같은 GELU"""
    got = pair(student["gelu_unseen"], "GELU")
    expect_responds(got[0], got[1], "GELU", given["gelu_x"][0])
    for out, x in zip(got, given["gelu_x"]):
        expect_close(out, F.gelu(x, approximate="tanh"), "GELU", atol=1e-5)


@question("g3")
def test_gelu_plot(student, reference):
    """그림: GELU와 ReLU 곡선, 제목, 범례"""
    expect_same(student, reference, "gelu_plot", "your figure")


@question("g3")
@hidden
def test_gelu_plot_draws_gelu(student, reference):
    """'GELU' 선의 값이 xs에서의 F.gelu와 같음"""
    drawn = student["gelu_plot"]
    lines = [line for figure in drawn for ax in figure["axes"] for line in ax["lines"]] if isinstance(drawn, list) else []
    gelu = [line for line in lines if isinstance(line, dict) and line.get("label") == "GELU"]
    assert gelu, "그림에 'GELU'라는 이름의 선이 없습니다"
    xs = torch.linspace(-4, 4, 81, dtype=torch.float64)
    expect_close(gelu[0]["y"], F.gelu(xs, approximate="tanh"), "GELU 선", atol=1e-4)


# g4: feed-forward
@question("g4")
def test_feedforward_on_the_lesson(student, reference):
    """수업의 확인 셀: seed 123으로 만든 check_ffn의 출력"""
    expect_same(student, reference, "ffn-check:[check_ffn_out, check_ffn(check_ffn_x.flip(1))]")


@question("g4")
@hidden
def test_feedforward_with_given_weights(student, reference, given):
    """채점기가 준 가중치의 FeedForward(12)가 Linear -> GELU -> Linear와 같음"""
    case = given["feedforward"]
    got = pair(student["feedforward_unseen"], "FeedForward")
    expect_responds(got[0], got[1], "FeedForward 출력", case["x"])
    for out, x in zip(got, (case["x"], case["x"].flip(1))):
        expect_close(out, feed_forward(x, case["weights"]), "FeedForward 출력")


# g5: shortcut connections
@question("g5")
def test_gradient_means(student, reference):
    """숏컷 연결이 없을 때와 있을 때, 층마다의 평균 절대 기울기"""
    expect_same(student, reference, "shortcut:without_shortcut", "without_shortcut", rtol=1e-3)
    expect_same(student, reference, "shortcut:with_shortcut", "with_shortcut", rtol=1e-3)


@question("g5")
@hidden
def test_gradient_means_on_another_network(student, reference):
    """다른 크기의 신경망과 입력에서의 평균 절대 기울기 (가중치는 채점기가 줌)"""
    expect_same(student, reference, "shortcut_unseen", "gradient_means", rtol=1e-3)


# g6: transformer block
@question("g6")
def test_block_output(student, reference, given):
    """채점기가 준 가중치를 넣은 32차원, 헤드 4개짜리 블록의 출력"""
    case = given["block_example"]
    expected = block(case["x"], case["weights"], heads=4)
    out = expect_nontrivial(student["block_example"], "TransformerBlock 출력", case["x"])
    without = Mistake(no_shortcut, lambda: block(case["x"], case["weights"], heads=4, shortcuts=False))
    expect_close(out, expected, "TransformerBlock 출력", mistakes=[without])


@question("g6")
def test_block_on_the_lesson(student, reference):
    """수업의 확인 셀: LayerNorm을 nn.LayerNorm으로 바꾼 check_block의 출력"""
    expect_same(student, reference, "block-check:[check_out, check_block(check_x.flip(1))]")


@question("g6")
@hidden
@pytest.mark.weight(2)
def test_block_unseen_sizes_and_causal(student, reference, given):
    """24차원, 헤드 3개짜리 블록: PyTorch 함수로 계산한 출력과 같고, 뒤쪽 토큰을 보지 않음"""
    case = given["block"]
    got = student["block_unseen"]
    expect_causal(got, CAUSAL_SPLIT, "TransformerBlock")
    expect_responds(got[0], got[2], "TransformerBlock", case["x"][0], mixes_tokens=True)
    for out, x in zip(got, case["x"]):
        expect_close(out, block(x, case["weights"], heads=3), "TransformerBlock 출력")


@question("g6")
@hidden
def test_block_keeps_its_shortcuts(student, reference, given):
    """어텐션과 피드포워드를 끄면 블록이 입력을 그대로 내보냄"""
    got = student["block_unseen"]
    if not isinstance(got, list) or not got:
        raise AssertionError("TransformerBlock을 확인할 수 없었습니다")
    expect_nontrivial(got[0], "TransformerBlock 출력", given["block"]["x"][0])  # not a block that passes x through anyway
    expect_close(student["block_with_silent_sublayers"], given["silent_block"]["x"], "서브층을 끈 블록의 출력")


# g7: GPT model
def parameter_count(cfg: dict) -> int:
    d, v, c = cfg["emb_dim"], cfg["vocab_size"], cfg["context_length"]
    attention_ = 3 * d * d + d * d + d
    feed_forward_ = d * 4 * d + 4 * d + 4 * d * d + d
    block_ = attention_ + feed_forward_ + 2 * 2 * d
    return v * d + c * d + cfg["n_layers"] * block_ + 2 * d + d * v


@question("g7")
def test_parameter_count(student, reference):
    """GPTModel(GPT_CONFIG)의 전체 파라미터 수: total_params와 model이 실제로 가진 파라미터 수"""
    expect_same(student, reference, "gpt:total_params", "total_params")
    expect_same(student, reference, "gpt:sum(p.numel() for p in model.parameters())", "model의 파라미터 수")


@question("g7")
def test_logits(student, reference):
    """수업의 확인 셀: 블록이 없는 check_gpt의 로짓 (모델 자체의 부분만 봄)"""
    expect_same(student, reference, "gpt-check:[check_logits, check_gpt(check_batch.flip(1))]")


@question("g7")
@hidden
def test_parameter_count_unseen(student, reference):
    """다른 설정의 파라미터 수가 공식과 같음"""
    expect_equal(student["gpt_parameters"], parameter_count(CFG), "다른 설정의 GPTModel 파라미터 수")


@question("g7")
@hidden
def test_model_without_blocks(student, reference, given):
    """블록을 뺀 모델(임베딩, 마지막 정규화, 출력 층)이 같은 가중치로 계산한 값과 같음"""
    w, idx = given["gpt"]["weights"], given["gpt"]["idx"]
    changed = idx.clone()
    changed[:, 0] = (changed[:, 0] + 1) % CFG["vocab_size"]
    got = student["gpt_unseen"]
    what = "GPTModel 로짓 (블록 제외)"
    expect_responds(got["logits"], got["changed_logits"], what)
    for ids, logits in ((idx, got["logits"]), (changed, got["changed_logits"])):
        x = F.embedding(ids, w["tok_emb.weight"]) + w["pos_emb.weight"][: ids.shape[1]]
        x = F.layer_norm(x, (CFG["emb_dim"],), w["final_norm.weight"], w["final_norm.bias"])
        expect_close(expect_tensor(logits, "logits"), F.linear(x, w["out_head.weight"]), what)


# g8: greedy generation
def greedy(start: list[int], new: int, context: int, vocab: int) -> tuple[list[int], list[int]]:
    ids, seen = list(start), []
    for _step in range(new):
        window = ids[-context:]
        seen.append(len(window))
        ids.append(sum(window) % vocab)
    return ids, seen


def expect_generation(case, expected_ids: list, expected_seen: list[int], what: str, context: int) -> None:
    assert isinstance(case, dict), f"{what}: 확인할 수 없었습니다"
    seen = case.get("seen")
    try:
        expect_equal(seen, expected_seen, f"{what}: 단계마다 모델에 들어간 토큰 수")
    except AssertionError as failure:
        if isinstance(seen, list) and seen and max(seen) > context:
            raise with_cause(failure, whole_history()) from None
        raise
    expect_equal(case.get("ids"), expected_ids, f"{what}: 생성한 id")


@question("g8")
def test_generated_ids(student, reference):
    """입력을 더하기만 하는 모델로 확인 셀의 toy_start에서 생성한 id 20개 (context_size 16)"""
    got, expected = student["generation_example"], reference["generation_example"]
    expect_generation(got, expected["ids"], expected["seen"], "generate_greedy", context=max(expected["seen"]))


@question("g8")
def test_generation_on_the_lesson(student, reference):
    """수업의 확인 셀: 합 모델(SumModel)로 생성한 id (context_size 2와 3)"""
    probe = "generate-check:[toy_ids, generate_greedy(SumModel(), torch.tensor([[4, 0], [2, 5]]), 5, 3).tolist()]"
    try:
        expect_same(student, reference, probe)
    except AssertionError as failure:
        vocab = reference["tokenizer:vocab_size"]
        whole = [greedy([1, 2, 3], 6, 10**6, vocab)[0], [greedy(row, 5, 10**6, vocab)[0] for row in ([4, 0], [2, 5])]]
        if student[probe] == whole:
            raise with_cause(failure, whole_history()) from None
        raise


@question("g8")
@hidden
@pytest.mark.weight(2)
def test_generation_keeps_to_the_context(student, reference, given):
    """입력을 더하기만 하는 모델에 마지막 context_size개 토큰만 들어감"""
    cases = student["generation_unseen"]
    if not isinstance(cases, list) or len(cases) != len(given["generation"]):
        raise AssertionError("generate_greedy를 다른 모델로 확인할 수 없었습니다")
    for case, got in zip(given["generation"], cases):
        new, context = case["new"], case["context"]
        rows = [greedy(row, new, context, 11) for row in case["start"].tolist()]
        what = f"generate_greedy(max_new_tokens={new}, context_size={context})"
        expect_generation(got, [ids for ids, _seen in rows], rows[0][1], what, context)

"""Hidden tests of transformer_encoder: the formulas and PyTorch's own modules are the oracles,
evaluated here on the inputs and weights the grader made (`given`), never on values a notebook sent."""
import math

import pytest
import torch
import torch.nn as nn

from autograder import diagnosis
from autograder.diagnosis import Mistake
from autograder.testing import differs, expect_close, expect_equal, expect_nontrivial, expect_responds, expect_same, expect_shape

question = pytest.mark.question
hidden = pytest.mark.hidden


def torch_layer(weights: dict, d_model: int, heads: int, d_ff: int) -> nn.TransformerEncoderLayer:
    """PyTorch's layer holding the weights the grader sent to the notebook."""
    layer = nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=d_ff, dropout=0.0, batch_first=True).eval()
    layer.load_state_dict(weights)
    return layer


def formula(max_len: int, d_model: int) -> torch.Tensor:
    pe = torch.zeros(max_len, d_model, dtype=torch.float64)
    for pos in range(max_len):
        for i in range(0, d_model, 2):
            angle = pos / 10000 ** (i / d_model)
            pe[pos, i], pe[pos, i + 1] = math.sin(angle), math.cos(angle)
    return pe


def pair(got) -> list:
    if not isinstance(got, list) or len(got) != 2:
        raise AssertionError("입력 두 개에 대한 출력이 있어야 합니다")
    return got


def outputs(student, probe: str, count: int) -> list:
    got = student[probe]
    if not isinstance(got, list) or len(got) != count:
        raise AssertionError(f"{probe}: 결과가 {count}개 있어야 합니다")
    return got


# e1: sinusoidal positional encoding
@question("e1")
def test_sinusoidal_shape(student, reference):
    """모양 (max_len, d_model)"""
    pe = expect_shape(outputs(student, "sinusoidal_cases", 3)[0], (40, 16), "sinusoidal_encoding(40, 16)")
    expect_nontrivial(pe, "sinusoidal_encoding(40, 16)")


@question("e1")
def test_sinusoidal_matches_the_formula(student, reference):
    """PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(...)"""
    expect_close(outputs(student, "sinusoidal_cases", 3)[0], formula(40, 16), "sinusoidal_encoding(40, 16)", atol=1e-4)


@question("e1")
def test_sinusoidal_on_the_lesson(student, reference):
    """수업의 pe = sinusoidal_encoding(50, 16)과 sinusoidal_encoding(7, 4)"""
    expect_same(student, reference, "sinusoidal:[pe, sinusoidal_encoding(7, 4)]", atol=1e-4)


@question("e1")
@hidden
def test_sinusoidal_other_sizes_and_range(student, reference, given):
    """다른 길이와 너비, 모든 값이 [-1, 1] 안"""
    for pe, (max_len, d_model) in list(zip(outputs(student, "sinusoidal_cases", 3), given["sinusoidal_sizes"]))[1:]:
        pe = expect_shape(pe, (max_len, d_model), f"sinusoidal_encoding({max_len}, {d_model})")
        assert float(pe.abs().max()) <= 1.0 + 1e-6, "값은 [-1, 1] 안에 있어야 합니다"
        expect_close(pe, formula(max_len, d_model), f"sinusoidal_encoding({max_len}, {d_model})", atol=1e-4)


# e2: learned positional embedding
@question("e2")
def test_learned_adds_the_position_rows(student, reference, given):
    """출력 = x + 위치 0..T-1의 임베딩"""
    x, table = given["learned"]["x"], given["learned"]["table"]
    expect_close(student["learned_cases"]["out"], x + table[: x.shape[1]], "LearnedPositionalEmbedding(x)")


@question("e2")
def test_learned_on_the_lesson(student, reference):
    """수업의 learned(torch.zeros(2, 3, 4))"""
    expect_same(student, reference, "learned:[learned(torch.zeros(2, 3, 4)), learned(torch.ones(1, 2, 4))]")


@question("e2")
@hidden
def test_learned_parameters(student, reference, given):
    """학습되는 (max_len, d_model) 표 하나"""
    expect_equal(student["learned_cases"]["parameters"], 12 * 6, "max_len=12, d_model=6일 때 학습 파라미터 수")
    case = student["learned_cases"]
    x = given["learned"]["x"]
    out = expect_nontrivial(case["out"], "LearnedPositionalEmbedding(x)", x)
    expect_shape(case["other_out"], x.shape, "LearnedPositionalEmbedding(x)")
    assert differs(out, case["other_out"]), "LearnedPositionalEmbedding(x): x가 바뀌어도 출력이 그대로입니다"


# e3: RoPE
@question("e3")
def test_rope_keeps_lengths(student, reference, given):
    """회전해도 모든 벡터의 노름이 그대로 (그리고 실제로 회전함)"""
    x = given["rope"]["x"]
    out = expect_nontrivial(expect_shape(student["rope_cases"]["out"], (2, 9, 8), "rope(x)"), "rope(x)", x)
    expect_close(out.norm(dim=-1), x.norm(dim=-1).double(), "rope 뒤의 노름")


@question("e3")
def test_rope_lesson_scores(student, reference):
    """수업의 scores = rope(q) @ rope(k).T"""
    expect_same(student, reference, "rope:scores")


@question("e3")
@hidden
def test_rope_scores_depend_on_distance_only(student, reference, given):
    """위치 m과 n의 점수는 m - n에만 의존"""
    case = student["rope_cases"]
    rq = expect_shape(case["rq"], (9, 16), "위치 9개에 놓인 q 하나의 rope(q)")
    rk = expect_shape(case["rk"], (9, 16), "위치 9개에 놓인 k 하나의 rope(k)")
    for rotated, vector, name in ((rq, given["rope"]["q"], "q"), (rk, given["rope"]["k"], "k")):
        expect_close(rotated.norm(dim=-1), vector.norm().double().expand(9), f"각 위치에서 rope({name})의 노름")
    scores = expect_nontrivial(rq.double() @ rk.double().T, "rope(q)와 rope(k)의 점수")
    expect_close(scores[1:, 1:], scores[:-1, :-1], "한 위치씩 민 점수", atol=1e-4)
    assert differs(scores[0, :], scores[0, 0].expand(scores.shape[1])), "점수가 위치에 따라 달라지지 않습니다"


@question("e3")
@hidden
def test_rope_values(student, reference):
    """(x[2i], x[2i+1]) 쌍을 m * 10000^(-2i/d)만큼 회전"""
    expect_close(student["rope_cases"]["out"], reference["rope_cases"]["out"], "rope(x)")


# e4: multi-head attention against nn.MultiheadAttention
def check_mha(student, given, indices):
    got = outputs(student, "mha_cases", 3)
    for index in indices:
        case = given["mha"][index]
        theirs = nn.MultiheadAttention(case["d_model"], case["heads"], batch_first=True)
        theirs.load_state_dict(case["weights"])
        x = case["x"][0]
        with torch.no_grad():
            expected, _ = theirs(x, x, x, need_weights=False)
        expect_close(pair(got[index])[0], expected, f"d_model={case['d_model']}, 헤드 {case['heads']}개일 때 출력",
                     atol=1e-5)


@question("e4")
def test_mha_shape(student, reference, given):
    """출력 모양 (B, T, d_model)"""
    out, changed = pair(outputs(student, "mha_cases", 3)[0])
    expect_shape(out, (2, 5, 8), "MultiHeadSelfAttention 출력")
    expect_responds(out, changed, "MultiHeadSelfAttention 출력", given["mha"][0]["x"][0], mixes_tokens=True)


@question("e4")
def test_mha_matches_torch(student, reference, given):
    """같은 가중치의 nn.MultiheadAttention과 같은 출력 (너비 8, 헤드 2개)"""
    check_mha(student, given, [0])


@question("e4")
def test_mha_on_the_lessons_check(student, reference):
    """수업의 확인 셀에서 만든 모듈의 출력 (시드 0의 nn.MultiheadAttention)"""
    expect_same(student, reference, "mha_lesson_check", "my_mha(x)", atol=1e-5)


@question("e4")
def test_mha_on_the_lesson(student, reference):
    """수업의 my_mha(x) (nn.MultiheadAttention의 가중치를 복사한 뒤)"""
    expect_same(student, reference, "mha-check:[my_mha(x), my_mha(x.flip(1))]")


@question("e4")
@hidden
def test_mha_matches_torch_other_sizes(student, reference, given):
    """헤드 3개와 4개에서 nn.MultiheadAttention과 같은 출력"""
    check_mha(student, given, [1, 2])


# e5: encoder block against nn.TransformerEncoderLayer
def block_mistakes(layer, x):
    """The block's common mistakes, made here from the same torch layer: no residual, LayerNorm first."""
    def attend(h):
        return layer.self_attn(h, h, h, need_weights=False)[0]

    def feed(h):
        return layer.linear2(torch.relu(layer.linear1(h)))

    with torch.no_grad():
        no_residual = layer.norm2(feed(layer.norm1(attend(x))))
        h = x + attend(layer.norm1(x))
        pre_norm = h + feed(layer.norm2(h))
    return [Mistake(diagnosis.no_residual, no_residual), Mistake(diagnosis.norm_before_residual, pre_norm)]


def check_block(student, given, index):
    case = given["blocks"][index]
    layer = torch_layer(case["weights"], *case["sizes"])
    with torch.no_grad():
        expected = layer(case["x"])
    d_model, heads, d_ff = case["sizes"]
    expect_close(outputs(student, "block_cases", 2)[index], expected, f"EncoderBlock({d_model}, {heads}, {d_ff})",
                 atol=1e-4, mistakes=block_mistakes(layer, case["x"]))


@question("e5")
def test_block_matches_torch(student, reference, given):
    """nn.TransformerEncoderLayer와 같은 출력 (post-norm, 드롭아웃 0)"""
    check_block(student, given, 0)


@question("e5")
def test_block_on_the_lessons_check(student, reference):
    """수업의 확인 셀에서 만든 블록의 출력 (시드 0의 nn.TransformerEncoderLayer)"""
    expect_same(student, reference, "block_lesson_check", "block(x)", atol=1e-4)


@question("e5")
def test_block_on_the_lesson(student, reference):
    """수업의 block(x) (nn.TransformerEncoderLayer의 가중치를 복사한 뒤)"""
    torch.manual_seed(0)  # the lesson's layer, as its cell makes it
    layer = nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, dropout=0.0, batch_first=True).eval()
    expect_same(student, reference, "block-check:[block(x), block(x.flip(1))]",
                mistakes=block_mistakes(layer, reference["block-check:x"]))


@question("e5")
@hidden
def test_block_matches_torch_other_sizes(student, reference, given):
    """다른 크기에서 nn.TransformerEncoderLayer와 같은 출력"""
    check_block(student, given, 1)


@question("e5")
@hidden
def test_encoder_of_blocks_matches_torch(student, reference, given):
    """블록 세 개를 이어 붙이면 nn.TransformerEncoder와 같음"""
    stack = given["stack"]
    x = stack["x"]
    with torch.no_grad():
        for weights in stack["weights"]:
            x = torch_layer(weights, 8, 2, 16)(x)
    expect_close(student["encoder_with_torch_blocks"], x, "Encoder(3, 8, 2, 16)", atol=1e-4)


# e6: the stack, graded with stand-in blocks so that only the stacking counts
# The lesson's encoder through its own blocks (the probe's expression, as in probes.py).
ENCODER_CHECK = ("encoder:{'블록 수': len(encoder.layers), '서로 다른 블록 수': len({id(b) for b in encoder.layers}),"
                 " '블록을 차례로 통과한 값과 같음':"
                 " encoder(x).shape == x.shape"
                 " and torch.allclose(encoder(x), encoder.layers[2](encoder.layers[1](encoder.layers[0](x))), equal_nan=True),"
                 " '입력이 바뀌면 출력도 바뀜': not torch.allclose(encoder(x), encoder(x.flip(1)), equal_nan=True),"
                 " '출력이 입력 그대로가 아님': not torch.allclose(encoder(x), x, equal_nan=True)}")


@question("e6")
def test_encoder_lesson_stack(student, reference):
    """수업의 인코더(블록 3개): 출력은 블록을 차례로 통과한 값"""
    expect_same(student, reference, ENCODER_CHECK, "수업의 encoder")


@question("e6")
def test_encoder_makes_num_layers_blocks(student, reference, given):
    """(d_model, num_heads, d_ff)로 만든 블록 num_layers개"""
    expect_equal(student["encoder_with_stand_in_blocks"]["made"], [[6, 3, 10]] * 4, "Encoder(4, 6, 3, 10)이 만든 블록")
    run = student["encoder_with_stand_in_blocks"]
    expect_responds(run["out"], run["changed_out"], "Encoder 출력", given["stand_in_x"][0])


@question("e6")
@hidden
def test_encoder_applies_blocks_in_order(student, reference):
    """각 블록의 출력이 순서대로 다음 블록의 입력"""
    expect_close(student["encoder_with_stand_in_blocks"]["out"], reference["encoder_with_stand_in_blocks"]["out"],
                 "인코더 출력")

"""Hidden tests of transformer_encoder: the formulas and PyTorch's own modules are the oracles."""
import math

import pytest
import torch
import torch.nn as nn

from autograder import diagnosis
from autograder.diagnosis import Mistake
from autograder.testing import expect_close, expect_equal, expect_shape

question = pytest.mark.question
hidden = pytest.mark.hidden


def torch_layer(seed, d_model, heads, d_ff):
    """The torch layer the probe built under the same seed, so it holds the same weights."""
    torch.manual_seed(seed)
    return nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=d_ff, dropout=0.0, batch_first=True).eval()


def formula(max_len: int, d_model: int) -> torch.Tensor:
    pe = torch.zeros(max_len, d_model, dtype=torch.float64)
    for pos in range(max_len):
        for i in range(0, d_model, 2):
            angle = pos / 10000 ** (i / d_model)
            pe[pos, i], pe[pos, i + 1] = math.sin(angle), math.cos(angle)
    return pe


# e1: sinusoidal positional encoding
@question("e1")
def test_sinusoidal_shape(student, reference):
    """모양 (max_len, d_model)"""
    expect_shape(student["sinusoidal_cases"][0]["pe"], (50, 16), "sinusoidal_encoding(50, 16)")


@question("e1")
def test_sinusoidal_matches_the_formula(student, reference):
    """PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(...)"""
    case = student["sinusoidal_cases"][0]
    expect_close(case["pe"], formula(50, 16), "sinusoidal_encoding(50, 16)", atol=1e-4)


@question("e1")
@hidden
def test_sinusoidal_other_sizes_and_range(student, reference):
    """다른 길이와 너비, 모든 값이 [-1, 1] 안"""
    for case in student["sinusoidal_cases"][1:]:
        pe = expect_shape(case["pe"], (case["max_len"], case["d_model"]), "sinusoidal_encoding")
        assert float(pe.abs().max()) <= 1.0 + 1e-6, "값은 [-1, 1] 안에 있어야 합니다"
        expect_close(pe, formula(case["max_len"], case["d_model"]), "sinusoidal_encoding", atol=1e-4)


# e2: learned positional embedding
@question("e2")
def test_learned_adds_the_position_rows(student, reference):
    """출력 = x + 위치 0..T-1의 임베딩"""
    case = student["learned_cases"]
    expect_close(case["out"], case["x"] + case["table"][: case["x"].shape[1]], "LearnedPositionalEmbedding(x)")


@question("e2")
@hidden
def test_learned_parameters(student, reference):
    """학습되는 (max_len, d_model) 표 하나"""
    expect_equal(student["learned_cases"]["parameters"], 12 * 6, "max_len=12, d_model=6일 때 학습 파라미터 수")


# e3: RoPE
@question("e3")
def test_rope_keeps_lengths(student, reference):
    """회전해도 모든 벡터의 노름이 그대로"""
    case = student["rope_cases"]
    expect_shape(case["out"], (2, 9, 8), "rope(x)")
    expect_close(case["out"].norm(dim=-1), case["x"].norm(dim=-1), "rope 뒤의 노름")


@question("e3")
@hidden
def test_rope_scores_depend_on_distance_only(student, reference):
    """위치 m과 n의 점수는 m - n에만 의존"""
    case = student["rope_cases"]
    scores = case["rq"] @ case["rk"].T
    expect_close(scores[1:, 1:], scores[:-1, :-1], "한 위치씩 민 점수", atol=1e-4)
    assert not torch.allclose(scores[0, :], scores[0, 0].expand(scores.shape[1])), "점수가 위치에 따라 달라지지 않습니다"


@question("e3")
@hidden
def test_rope_values(student, reference):
    """(x[2i], x[2i+1]) 쌍을 m * 10000^(-2i/d)만큼 회전"""
    expect_close(student["rope_cases"]["out"], reference["rope_cases"]["out"], "rope(x)")


# e4: multi-head attention against nn.MultiheadAttention
def check_mha(student, indices):
    cases = student["mha_cases"]
    for index in indices:
        case = cases[index]
        torch.manual_seed(case["seed"])
        theirs = nn.MultiheadAttention(case["d_model"], case["heads"], batch_first=True)
        x = case["x"]
        expected, _ = theirs(x, x, x, need_weights=False)
        expect_close(case["out"], expected.detach(), f"d_model={case['d_model']}, 헤드 {case['heads']}개일 때 출력",
                     atol=1e-5)


@question("e4")
def test_mha_shape(student, reference):
    """출력 모양 (B, T, d_model)"""
    expect_shape(student["mha_cases"][0]["out"], (2, 5, 8), "MultiHeadSelfAttention 출력")


@question("e4")
def test_mha_matches_torch(student, reference):
    """같은 가중치의 nn.MultiheadAttention과 같은 출력 (너비 8, 헤드 2개)"""
    check_mha(student, [0])


@question("e4")
@hidden
def test_mha_matches_torch_other_sizes(student, reference):
    """헤드 3개와 4개에서 nn.MultiheadAttention과 같은 출력"""
    check_mha(student, [1, 2])


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


def check_block(student, index):
    case = student["block_cases"][index]
    layer = torch_layer(case["seed"], case["d_model"], case["heads"], case["d_ff"])
    with torch.no_grad():
        expected = layer(case["x"])
    expect_close(case["out"], expected, f"EncoderBlock({case['d_model']}, {case['heads']}, {case['d_ff']})", atol=1e-4,
                 mistakes=block_mistakes(layer, case["x"]))


@question("e5")
def test_block_matches_torch(student, reference):
    """nn.TransformerEncoderLayer와 같은 출력 (post-norm, 드롭아웃 0)"""
    check_block(student, 0)


@question("e5")
@hidden
def test_block_matches_torch_other_sizes(student, reference):
    """다른 크기에서 nn.TransformerEncoderLayer와 같은 출력"""
    check_block(student, 1)


@question("e5")
@hidden
def test_encoder_of_blocks_matches_torch(student, reference):
    """블록 세 개를 이어 붙이면 nn.TransformerEncoder와 같음"""
    case = student["encoder_with_torch_blocks"]
    x = case["x"]
    with torch.no_grad():
        for layer_seed in case["seeds"]:
            x = torch_layer(layer_seed, 8, 2, 16)(x)
    expect_close(case["out"], x, "Encoder(3, 8, 2, 16)", atol=1e-4)


# e6: the stack, graded with stand-in blocks so that only the stacking counts
@question("e6")
def test_encoder_makes_num_layers_blocks(student, reference):
    """(d_model, num_heads, d_ff)로 만든 블록 num_layers개"""
    expect_equal(student["encoder_with_stand_in_blocks"]["made"], [[6, 3, 10]] * 4, "Encoder(4, 6, 3, 10)이 만든 블록")


@question("e6")
@hidden
def test_encoder_applies_blocks_in_order(student, reference):
    """각 블록의 출력이 순서대로 다음 블록의 입력"""
    expect_close(student["encoder_with_stand_in_blocks"]["out"], reference["encoder_with_stand_in_blocks"]["out"],
                 "Encoder output")

"""Hidden tests of gpt_training: sliding windows (Tensor.unfold) and F.cross_entropy, computed here from
the grader's own copy of the inputs (`given`), are the oracles; the training loop is compared step by
step with the solution's run on data the student never saw, within a relative 1e-4 (the tolerance
the notebook states)."""
import pytest
import torch
import torch.nn.functional as F

from autograder.diagnosis import Mistake
from autograder.testing import ProbeUnavailable, expect_close, expect_nontrivial, expect_same

question = pytest.mark.question
hidden = pytest.mark.hidden
STEPS = 40


def not_shifted() -> str:
    return "정답을 한 칸 밀지 않음 — targets가 inputs와 같은 창 (token_ids[i + 1:i + context_length + 1]이어야 함)"


def losses_differ() -> str:
    return "3번 학습 루프의 손실이 정답 실행과 다름 — 그래프는 losses를 그렸지만 그 손실이 틀렸습니다"


def gradients_never_cleared() -> str:
    return ("optimizer.zero_grad()를 부르지 않음 — 기울기가 단계마다 쌓입니다 "
            "(다른 데이터로 돌린 train_model의 손실이 기울기를 지우지 않는 루프의 손실과 같음)")


def loop_mistakes(student, reference, got: torch.Tensor) -> list[Mistake]:
    """The training loop's likely mistake, from evidence: the student's loop on the grader's data
    (train_unseen) gives the losses the solution's model gives when its gradients are never cleared.
    Then `got`, the visible run's losses, is that mistake's value."""
    try:
        runs, never_zeroed = student["train_unseen"], reference["train_unseen_never_zeroed"]
        same = isinstance(runs, list) and len(runs) == len(never_zeroed) and all(
            isinstance(run, list) and len(run) == len(expected)
            and torch.allclose(torch.tensor(run, dtype=torch.float64), torch.tensor(expected, dtype=torch.float64),
                               rtol=1e-4, atol=1e-6)
            for run, expected in zip(runs, never_zeroed))
    except (ProbeUnavailable, TypeError, ValueError, RuntimeError):
        return []
    return [Mistake(gradients_never_cleared, got)] if same else []


def losses_of(got, count: int, what: str) -> torch.Tensor:
    """A list of `count` finite losses that are not all the same number, as a tensor."""
    assert isinstance(got, list) and len(got) == count, f"{what}: 단계마다 손실 하나씩, {count}개가 있어야 합니다"
    return expect_nontrivial(torch.tensor(got, dtype=torch.float64), what)


# t1: data loader
@question("t1")
def test_pairs_of_the_corpus(student, reference):
    """corpus.txt의 inputs와 targets (context 16, stride 8), 그리고 앞 40글자의 create_pairs(…, 6, 5)"""
    probe = "data:[inputs, targets, *create_pairs(token_ids[:40], 6, 5)]"
    got, expected = student[probe], reference[probe]
    if isinstance(got, list) and len(got) == len(expected):  # targets: inputs shifted by one token
        for inputs, targets in ((0, 1), (2, 3)):
            same_as_inputs = Mistake(not_shifted, expected[inputs])
            expect_close(got[targets], expected[targets], "targets", mistakes=[same_as_inputs])
    expect_same(student, reference, probe)


@question("t1")
@hidden
@pytest.mark.weight(2)
def test_pairs_on_other_ids(student, reference, given):
    """다른 id, 길이, stride에서의 create_pairs: 창과 한 칸 밀린 정답"""
    cases = student["pairs_unseen"]
    assert isinstance(cases, list) and len(cases) == len(given["pairs"]), "create_pairs를 다른 id로 확인할 수 없었습니다"
    for case, got in zip(given["pairs"], cases):
        ids, length, stride = case["ids"], case["length"], case["stride"]
        windows = ids.unfold(0, length + 1, stride)  # every window of length+1 that fits
        where = f"id {len(ids)}개, context {length}, stride {stride}"
        expect_close(got["inputs"], windows[:, :-1], f"{where}의 inputs")
        expect_close(got["targets"], windows[:, 1:], f"{where}의 targets")


# t2: loss of a batch
@question("t2")
def test_untrained_loss(student, reference):
    """학습 전 모델의 첫 배치 손실과 다른 배치의 손실"""
    expect_same(student, reference,
                "untrained-loss:[initial_loss, calc_loss_batch(inputs[8:12], targets[8:12], untrained).item()]", rtol=1e-5)


@question("t2")
@hidden
@pytest.mark.weight(2)
def test_loss_against_cross_entropy(student, reference, given):
    """다른 점수에서의 calc_loss_batch가 F.cross_entropy와 같음"""
    values = student["loss_unseen"]
    assert isinstance(values, list) and len(values) == len(given["loss"]), "calc_loss_batch를 확인할 수 없었습니다"
    for case, got in zip(given["loss"], values):
        logits, targets = case["logits"], case["targets"]
        expected = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        b, t, vocab = logits.shape
        expect_close(torch.tensor(got), expected, f"토큰 {vocab}개에 대한 {b}x{t} 배치의 손실", rtol=1e-5)


# t3: training loop
@question("t3")
def test_losses_of_the_homework_run(student, reference):
    """노트북 학습의 손실 40개가 정답 실행과 상대 오차 1e-4 안에서 같음"""
    got = losses_of(student["train-run:losses"], STEPS, "losses")
    expect_close(got, torch.tensor(reference["train-run:losses"], dtype=torch.float64), "losses", rtol=1e-4, atol=1e-6,
                 mistakes=loop_mistakes(student, reference, got))


@question("t3")
def test_loop_over_a_short_loader(student, reference):
    """배치 두 개짜리 로더로 3단계: 로더를 다시 돌며 단계마다 손실 하나"""
    expect_same(student, reference, "train-run:[losses, train_model(untrained, [(inputs[:2], targets[:2]), (inputs[2:4], "
                "targets[2:4])], torch.optim.SGD(untrained.parameters(), lr=0.0), 3)]", rtol=1e-5)


@question("t3")
@hidden
@pytest.mark.weight(2)
def test_training_loop_on_another_model(student, reference):
    """다른 모델, 데이터, 옵티마이저로 12단계와 5단계 돌린 train_model이 상대 오차 1e-4 안에서 같음"""
    runs = student["train_unseen"]
    assert isinstance(runs, list) and len(runs) == 2, "train_model을 다른 모델로 확인할 수 없었습니다"
    for got, expected in zip(runs, reference["train_unseen"]):
        got = losses_of(got, len(expected), "train_model의 단계별 손실")
        assert expected[-1] < expected[0]  # the run it is compared with does learn
        expect_close(got, torch.tensor(expected, dtype=torch.float64), f"{len(expected)}단계의 손실", rtol=1e-4, atol=1e-6)


# t4: the loss plot
@question("t4")
def test_loss_plot(student, reference):
    """1..40단계 위에 학습 손실을 그린 'train loss' 선"""
    drawn = student["loss_plot"]
    lines = [line for figure in drawn for ax in figure["axes"] for line in ax["lines"]] if isinstance(drawn, list) else []
    mine = [line for line in lines if isinstance(line, dict) and line.get("label") == "train loss"]
    assert mine, "그림에 'train loss'라는 이름의 선이 없습니다"
    expect_close(mine[0]["x"], torch.arange(1, STEPS + 1, dtype=torch.float64), "x축의 단계")
    # The run's losses as the solution's run computed them (on the second run's data too), never the
    # notebook's own list: losses typed back would otherwise draw a curve that agrees with itself. The
    # notebook's list only names the likely mistake when the curve draws it.
    expected = torch.tensor(reference["train-run:losses"], dtype=torch.float64)
    try:
        own = [Mistake(losses_differ, torch.tensor(student["train-run:losses"], dtype=torch.float64))]
    except (ProbeUnavailable, TypeError, ValueError, RuntimeError):
        own = []
    expect_close(mine[0]["y"], expected, "그린 손실 (수업의 학습에서 나온 손실)", rtol=1e-4, atol=1e-6, mistakes=own)

"""Hidden tests of gpt_training: sliding windows (Tensor.unfold) and F.cross_entropy, computed here from
the grader's own copy of the inputs (`given`), are the oracles; the training loop is compared step by
step with the solution's run on data the student never saw, within a relative 1e-4 (the tolerance
the notebook states)."""
import pytest
import torch
import torch.nn.functional as F

from autograder.testing import expect_close, expect_same

question = pytest.mark.question
hidden = pytest.mark.hidden
STEPS = 40


# t1: data loader
@question("t1")
def test_pairs_of_the_corpus(student, reference):
    """inputs and targets of corpus.txt (context 16, stride 8)"""
    expect_same(student, reference, "data:inputs", "inputs")
    expect_same(student, reference, "data:targets", "targets")


@question("t1")
@hidden
@pytest.mark.weight(2)
def test_pairs_on_other_ids(student, reference, given):
    """create_pairs on other ids, lengths and strides: windows and targets shifted by one"""
    cases = student["pairs_unseen"]
    assert isinstance(cases, list) and len(cases) == len(given["pairs"]), "create_pairs could not be checked on other ids"
    for case, got in zip(given["pairs"], cases):
        ids, length, stride = case["ids"], case["length"], case["stride"]
        windows = ids.unfold(0, length + 1, stride)  # every window of length+1 that fits
        where = f"{len(ids)} ids, context {length}, stride {stride}"
        expect_close(got["inputs"], windows[:, :-1], f"inputs for {where}")
        expect_close(got["targets"], windows[:, 1:], f"targets for {where}")


# t2: loss of a batch
@question("t2")
def test_untrained_loss(student, reference):
    """the loss of the untrained model on the first batch"""
    expect_same(student, reference, "loss:initial_loss", "initial_loss", rtol=1e-5)


@question("t2")
@hidden
@pytest.mark.weight(2)
def test_loss_against_cross_entropy(student, reference, given):
    """calc_loss_batch on other scores, against F.cross_entropy"""
    values = student["loss_unseen"]
    assert isinstance(values, list) and len(values) == len(given["loss"]), "calc_loss_batch could not be checked"
    for case, got in zip(given["loss"], values):
        logits, targets = case["logits"], case["targets"]
        expected = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        b, t, vocab = logits.shape
        expect_close(torch.tensor(got), expected, f"the loss of a {b}x{t} batch over {vocab} tokens", rtol=1e-5)


# t3: training loop
@question("t3")
def test_losses_of_the_homework_run(student, reference):
    """the 40 losses of the notebook's training run, within a relative 1e-4 of the solution's"""
    got = student["train:losses"]
    assert isinstance(got, list) and len(got) == STEPS, f"losses should hold {STEPS} values, one per step"
    expect_close(torch.tensor(got), torch.tensor(reference["train:losses"]), "losses", rtol=1e-4, atol=1e-6)


@question("t3")
@hidden
@pytest.mark.weight(2)
def test_training_loop_on_another_model(student, reference):
    """train_model on another model, data and optimizer for 12 steps, within a relative 1e-4"""
    got, expected = student["train_unseen"], reference["train_unseen"]
    assert isinstance(got, list) and len(got) == 12, "train_model should return one loss per step (12 here)"
    assert expected[-1] < expected[0]  # the run it is compared with does learn
    expect_close(torch.tensor(got), torch.tensor(expected), "losses per step", rtol=1e-4, atol=1e-6)


# t4: the loss plot
@question("t4")
def test_loss_plot(student, reference):
    """a line labelled 'train loss' over steps 1..40, with the losses of the run"""
    drawn = student["loss_plot"]
    lines = [line for figure in drawn for ax in figure["axes"] for line in ax["lines"]] if isinstance(drawn, list) else []
    mine = [line for line in lines if isinstance(line, dict) and line.get("label") == "train loss"]
    assert mine, "no line labelled 'train loss' in your figure"
    expect_close(mine[0]["x"], torch.arange(1, STEPS + 1, dtype=torch.float64), "the steps on the x axis")
    losses = student["train:losses"]
    expect_close(mine[0]["y"], torch.tensor(losses, dtype=torch.float64), "the plotted losses", rtol=1e-6)

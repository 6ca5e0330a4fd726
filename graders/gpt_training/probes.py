"""What the hidden tests of gpt_training need. Token ids, scores, training data, its order and the
model's starting weights are made by the grader (`make_inputs`, sent here as `probes.given`); the
tests recompute the windows and the cross-entropy from the grader's own copy. The training loop is
run with PyTorch's own loss in place of the student's, so that one mistake costs its own question."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from autograder.probes import Probes, figures, need, replaced

probes = Probes()
PAIR_CASES = [(41, 5, 3), (30, 7, 1), (20, 4, 4)]  # (number of ids, context_length, stride)
LOSS_CASES = [(3, 5, 11), (2, 9, 17)]             # (batch, length, vocabulary)
TRAIN_CFG = {"vocab_size": 29, "context_length": 8, "emb_dim": 16, "n_heads": 2, "n_layers": 1, "drop_rate": 0.0,
             "qkv_bias": False}


@probes.grader_inputs
def make_inputs(seeds):
    """Runs in the grader: the ids, scores and data the probes below give the student's functions."""
    g = torch.Generator().manual_seed(seeds[0] + 7)
    data = torch.randint(0, TRAIN_CFG["vocab_size"], (200,), generator=g)
    return {
        "pairs": [{"ids": torch.randint(0, 50, (n,), generator=g), "length": length, "stride": stride}
                  for n, length, stride in PAIR_CASES],
        "loss": [{"targets": torch.randint(0, vocab, (b, t), generator=g), "logits": torch.randn(b, t, vocab, generator=g) * 2}
                 for b, t, vocab in LOSS_CASES],
        "train": {"weights": model_weights(g), "batches": batches(data, g)},
    }


def model_weights(g: torch.Generator) -> dict:
    """The starting weights of the small GPT the loop trains, by the names of gpt_pieces.GPTModel."""
    d, vocab, context = TRAIN_CFG["emb_dim"], TRAIN_CFG["vocab_size"], TRAIN_CFG["context_length"]

    def randn(*shape, scale=0.3):
        return torch.randn(*shape, generator=g) * scale

    weights = {"tok_emb.weight": randn(vocab, d, scale=1.0), "pos_emb.weight": randn(context, d, scale=1.0),
               "out_head.weight": randn(vocab, d)}
    for layer in range(TRAIN_CFG["n_layers"]):
        block = f"trf_blocks.{layer}."
        weights |= {f"{block}att.{name}.weight": randn(d, d) for name in ("W_query", "W_key", "W_value", "out_proj")}
        weights |= {f"{block}att.out_proj.bias": randn(d), f"{block}ff.layers.0.weight": randn(4 * d, d),
                    f"{block}ff.layers.0.bias": randn(4 * d), f"{block}ff.layers.2.weight": randn(d, 4 * d),
                    f"{block}ff.layers.2.bias": randn(d)}
        for norm in ("norm1", "norm2"):
            weights |= {f"{block}{norm}.scale": 1 + randn(d, scale=0.1), f"{block}{norm}.shift": randn(d, scale=0.1)}
    return weights | {"final_norm.scale": 1 + randn(d, scale=0.1), "final_norm.shift": randn(d, scale=0.1)}


def batches(data: torch.Tensor, g: torch.Generator) -> list:
    """The loader: 7 batches of 6 windows (context 8, stride 4) in an order the grader drew."""
    x, y = data.unfold(0, 8, 4)[:47], data[1:].unfold(0, 8, 4)[:47]
    order = torch.randperm(len(x), generator=g)[:42].reshape(7, 6)
    return [[x[rows], y[rows]] for rows in order]


class GivenLogits(nn.Module):
    """A stand-in model that answers with the grader's scores, whatever its input."""

    def __init__(self, logits: torch.Tensor):
        super().__init__()
        self.logits = logits

    def forward(self, idx):
        return self.logits


def torch_loss(input_batch, target_batch, model):
    return F.cross_entropy(model(input_batch).flatten(0, 1), target_batch.flatten())


# 1 data loader
probes.capture("data", "inputs", "targets")


@probes.after("data")
def pairs_unseen(ns):
    make = need(ns, "create_pairs")
    cases = []
    for case in probes.given("pairs"):
        x, y = make(case["ids"].tolist(), case["length"], case["stride"])
        cases.append({"inputs": x, "targets": y})
    return cases


# 2 loss


@probes.after("loss")
def loss_unseen(ns):
    loss = need(ns, "calc_loss_batch")
    values = []
    for case in probes.given("loss"):
        targets = case["targets"]
        values.append(float(loss(torch.zeros_like(targets), targets, GivenLogits(case["logits"]))))
    return values


# 3 training loop (the lesson's run is a setup cell, its seed varied in the second run)
probes.capture("train-run", "losses")


@probes.after("train-run")
def train_unseen(ns):
    """The student's loop on another model, data and optimizer, with PyTorch's loss. Run after the
    lesson's run, which pays for the optimizer's first step (imports, autograd set-up) in its cell's
    time rather than in this probe's."""
    train = need(ns, "train_model")
    with replaced(ns, "calc_loss_batch", torch_loss):
        return unseen_runs(ns, train)


@probes.after("train-run")
def train_unseen_never_zeroed(ns):
    """train_unseen's runs with a loop that never clears the gradients. Only the solution's value is read:
    when a student's runs give these losses, that mistake is named."""
    return unseen_runs(ns, never_zeroed)


def unseen_runs(ns, train) -> list[list[float]]:
    """`train` on the grader's model, data and optimizer: two runs (12 steps over all batches; 5 over the
    last three, at another rate), so that a loop that repeats its first answer, whoever asked first, fails
    the second."""
    model_class = need(ns, "GPTModel")
    data = probes.given("train")
    runs = []
    for steps, batches_, rate in ((12, data["batches"], 0.5), (5, data["batches"][-3:], 0.2)):
        model = model_class(TRAIN_CFG)
        missing, unexpected = model.load_state_dict(data["weights"], strict=False)
        if [name for name in missing if not name.endswith(".mask")] or unexpected:
            raise TypeError("GPTModel의 파라미터가 gpt_pieces.py의 구성과 다릅니다")
        optimizer = torch.optim.SGD(model.parameters(), lr=rate)
        losses = train(model, [(x, y) for x, y in batches_], optimizer, steps)
        runs.append([float(value) for value in losses])
    return runs


def never_zeroed(model, loader, optimizer, num_steps):
    """The lesson's loop without optimizer.zero_grad(): each step adds its gradient to all the earlier ones."""
    model.train()
    losses = []
    while len(losses) < num_steps:
        for input_batch, target_batch in loader:
            loss = torch_loss(input_batch, target_batch, model)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if len(losses) == num_steps:
                break
    return losses


# 4 the loss plot
@probes.after("loss-plot")
def loss_plot(ns):
    return figures()


# What visible tests compare, from the lesson's own data (each calls the student's function a second
# time, so a function that repeats its first answer fails): these are handed out as checks too.
probes.value("data", "[inputs, targets, *create_pairs(token_ids[:40], 6, 5)]")
probes.value("untrained-loss", "[initial_loss, calc_loss_batch(inputs[8:12], targets[8:12], untrained).item()]")
probes.value("train-run", "[losses, train_model(untrained, [(inputs[:2], targets[:2]), (inputs[2:4], targets[2:4])], "
                      "torch.optim.SGD(untrained.parameters(), lr=0.0), 3)]")

"""What the hidden tests of gpt_training need. Token ids, models, loaders and logits come from seeds
(the tests remake the same logits in the grader for F.cross_entropy); the training loop is run with
PyTorch's own loss in place of the student's, so that one mistake costs its own question."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from autograder.probes import Probes, figures, need, replaced

probes = Probes()


def seed(k: int) -> int:
    return probes.seeds[k % len(probes.seeds)] + 97 * k


def token_ids(n: int, vocab: int, k: int) -> list[int]:
    return torch.randint(0, vocab, (n,), generator=torch.Generator().manual_seed(seed(k))).tolist()


class SeededLogits(nn.Module):
    """A stand-in model whose scores come from a seed (the tests make the same ones)."""

    def __init__(self, vocab: int, k: int):
        super().__init__()
        self.vocab, self.k = vocab, k

    def forward(self, idx):
        return torch.randn(idx.shape[0], idx.shape[1], self.vocab, generator=torch.Generator().manual_seed(seed(self.k))) * 2


def torch_loss(input_batch, target_batch, model):
    return F.cross_entropy(model(input_batch).flatten(0, 1), target_batch.flatten())


PAIR_CASES = [(41, 5, 3), (30, 7, 1), (20, 4, 4)]  # (number of ids, context_length, stride)
LOSS_CASES = [(3, 5, 11), (2, 9, 17)]             # (batch, length, vocabulary)
TRAIN_CFG = {"vocab_size": 29, "context_length": 8, "emb_dim": 16, "n_heads": 2, "n_layers": 1, "drop_rate": 0.0,
             "qkv_bias": False}

# 1 data loader
probes.capture("data", "inputs", "targets")


@probes.after("data")
def pairs_unseen(ns):
    make = need(ns, "create_pairs")
    cases = []
    for k, (n, length, stride) in enumerate(PAIR_CASES):
        x, y = make(token_ids(n, 50, k), length, stride)
        cases.append({"inputs": x, "targets": y})
    return cases


# 2 loss
probes.capture("loss", "initial_loss")


@probes.after("loss")
def loss_unseen(ns):
    loss = need(ns, "calc_loss_batch")
    values = []
    for k, (b, t, vocab) in enumerate(LOSS_CASES):
        targets = torch.randint(0, vocab, (b, t), generator=torch.Generator().manual_seed(seed(k + 10)))
        values.append(float(loss(torch.zeros(b, t, dtype=torch.long), targets, SeededLogits(vocab, k + 20))))
    return values


# 3 training loop
probes.capture("train", "losses")


@probes.after("train")
def train_unseen(ns):
    """The student's loop on another model, data and optimizer, with PyTorch's loss."""
    model_class, train = need(ns, "GPTModel"), need(ns, "train_model")
    data = token_ids(200, TRAIN_CFG["vocab_size"], 31)
    x = torch.tensor([data[i:i + 8] for i in range(0, 190, 4)])
    y = torch.tensor([data[i + 1:i + 9] for i in range(0, 190, 4)])
    loader = DataLoader(TensorDataset(x, y), batch_size=6, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(seed(32)))
    torch.manual_seed(seed(30))
    model = model_class(TRAIN_CFG)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    with replaced(ns, "calc_loss_batch", torch_loss):
        losses = train(model, loader, optimizer, 12)
    return [float(value) for value in losses]


# 4 the loss plot
@probes.after("loss-plot")
def loss_plot(ns):
    return figures()

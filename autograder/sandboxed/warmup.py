"""Work the fork server does once so that workers do not each do it: torch's lazy set-up.

Many torch and Python code paths initialise themselves on first use (printing a tensor, building a
module, formatting a traceback). Done in the fork server, every worker inherits them ready, which
saves a few milliseconds per submission. The code is ours and generic, never an assignment's: the
fork server runs without the sandbox.
"""
from __future__ import annotations

import contextlib
import io
import os

from ..config import Limits
from ..probes import Probes
from ..protocol.jobs import CellJob, WorkerJob

_CELLS = (
    """
import torch
import torch.nn as nn
torch.manual_seed(0)
x = torch.rand(2, 3, 4)
print(x, x.shape, x[0, 1, 2].item(), x.sum(dim=-1), x.T if x.dim() == 2 else x[0].T)
scores = torch.empty(3, 3)
for i, a in enumerate(x[0]):
    for j, b in enumerate(x[0]):
        scores[i, j] = torch.dot(a, b)
weights = torch.exp(scores) / torch.exp(scores).sum(dim=-1, keepdim=True)
print(scores @ x[0], torch.softmax(scores, dim=0), weights.sum(dim=-1), torch.allclose(weights, weights))
""",
    """
class Attention(nn.Module):
    def __init__(self, d_in, d_out, context_length, dropout, heads=2):
        super().__init__()
        self.W_query = nn.Linear(d_in, d_out, bias=False)
        self.W_key = nn.Parameter(torch.rand(d_in, d_out))
        self.heads = nn.ModuleList([nn.Linear(d_in, d_out) for _ in range(heads)])
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("mask", torch.triu(torch.ones(context_length, context_length), diagonal=1))

    def forward(self, x):
        b, n, _ = x.shape
        q, k = self.W_query(x), x @ self.W_key
        scores = (q @ k.transpose(1, 2)).masked_fill(self.mask.bool()[:n, :n], -torch.inf)
        weights = self.dropout(torch.softmax(scores / k.shape[-1] ** 0.5, dim=-1))
        both = torch.cat([head(x) for head in self.heads], dim=-1)
        return (weights @ q).view(b, n, 2, -1).transpose(1, 2).contiguous().view(b, n, -1), both

module = Attention(4, 2, 3, 0.5)
out, both = module(torch.stack((x[0], x[1]), dim=0))
print(module, out, both.shape, torch.tril(torch.ones(3, 3)))
print(torch.nn.functional.scaled_dot_product_attention(x, x, x, is_causal=True))
module.eval()
with torch.no_grad():
    module.W_query.weight.copy_(torch.randn(2, 4, generator=torch.Generator().manual_seed(1)))
print(module(x)[0], nn.LayerNorm(4)(x).mean(), nn.GELU()(x).std())
""",
    "def broken():\n    raise ValueError('warm-up')\nbroken()",
    "### your code\nanswer = (",
)


def warm_up() -> None:
    import torch

    from ..protocol.progress import ProgressWriter, job_file
    from .worker import Reports, run_cells

    probes = Probes()
    probes.capture("w1", "x")
    probes.capture("w1", "weights")
    probes.capture("w2", "out", "both", "module")
    cells = tuple(CellJob(f"w{n}", source, "protected") for n, source in enumerate(_CELLS))
    job = WorkerJob(cells, None, Limits(), os.devnull)
    sink = os.open(os.devnull, os.O_WRONLY)
    page = job_file(b"")
    progress = ProgressWriter(page)
    try:
        # Workers start from torch's generator as a fresh process has it, not as the warm-up left it.
        with contextlib.redirect_stdout(io.StringIO()), torch.random.fork_rng(devices=[]):
            run_cells(job, probes, Reports(sink), progress)
    finally:
        progress.close()  # shared memory left mapped here would be shared by every worker
        os.close(sink)
        os.close(page)

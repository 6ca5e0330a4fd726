"""Notebooks that try to talk the grader into points, made from the real student and solution notebooks.

Shared by the tests of worker claims: degenerate modules (zero, constant, NaN, infinite, identity,
input-independent), monkeypatches of what probes use, forged reports, typed-back printouts.
"""
from __future__ import annotations

import ast
import copy
import csv
import subprocess
import sys
from pathlib import Path

import nbformat
from conftest import REPO

# The answer cells that define each assignment's functions and classes, and those names.
CALLABLES = {
    "lec27_attention": {"softmax-naive": "softmax_naive", "self-attention-v1": "SelfAttention_v1",
                        "self-attention-v2": "SelfAttention_v2", "dropout": "dropout",
                        "causal-attention": "CausalAttention", "mha-wrapper": "MultiHeadAttentionWrapper",
                        "mha": "MultiHeadAttention"},
    "attention_basics": {"causal-mean": "causal_mean", "attention-fn": "attention", "similarity": "cosine_similarity",
                         "sdpa": "scaled_dot_product_attention"},
    "transformer_encoder": {"sinusoidal": "sinusoidal_encoding", "learned": "LearnedPositionalEmbedding",
                            "rope": "rope", "mha": "MultiHeadSelfAttention", "encoder-block": "EncoderBlock",
                            "encoder": "Encoder"},
    "gpt_model": {"tokenizer": ("encode", "decode"), "layernorm": "LayerNorm", "gelu": "GELU",
                  "feedforward": "FeedForward", "shortcut": ("DeepNetwork", "gradient_means"),
                  "block": "TransformerBlock", "gpt": "GPTModel", "generate": "generate_greedy"},
    "gpt_training": {"data": "create_pairs", "loss": "calc_loss_batch", "train": "train_model"},
}
KINDS = ("zeros", "constant", "nan", "inf", "identity", "input_independent")

# Turns a function, a class (its forward) or a module object into a degenerate one of `kind`.
DEGENERATE = '''
import functools as _functools
import torch as _torch


def _degenerate(obj, kind):
    first = {}

    def degrade(out, args):
        if isinstance(out, (tuple, list)):
            return type(out)(degrade(one, args) for one in out)
        if isinstance(out, str):  # text: empty, one repeated character, or the input as text
            return {"zeros": "", "constant": "가" * len(out)}.get(kind, str(args[0]) if args else "")
        if isinstance(out, (int, float)) and not isinstance(out, bool):  # ids, losses, gradient means
            if kind in ("nan", "inf"):
                return float(kind)
            return type(out)(0.5) if kind == "constant" and isinstance(out, float) else type(out)(kind == "constant")
        if not isinstance(out, _torch.Tensor):
            return out
        out = out.detach()
        if kind == "zeros":
            return _torch.zeros_like(out)
        if kind == "constant":
            return _torch.full_like(out, 0.5)
        if kind in ("nan", "inf"):
            return _torch.full_like(out, float(kind))
        x = next((a for a in args if isinstance(a, _torch.Tensor)), None)
        if x is None:
            return _torch.zeros_like(out)
        x = x.detach().to(out.dtype)
        if x.shape == out.shape:
            return x.clone()
        if x.shape[:-1] == out.shape[:-1]:
            return _torch.nn.functional.pad(x, (0, max(0, out.shape[-1] - x.shape[-1])))[..., :out.shape[-1]]
        flat = x.reshape(-1)
        return flat.repeat(out.numel() // max(1, flat.numel()) + 1)[:out.numel()].reshape(out.shape)

    def wrap(function):
        @_functools.wraps(function)
        def degenerate(*args, **kwargs):
            if kind == "unwritten":  # the baseline: left as a stub
                raise NotImplementedError("not written yet")
            if kind == "input_independent":  # tensors replaced by ones; without any, its first output
                if any(isinstance(a, _torch.Tensor) for a in args):
                    return function(*(_torch.ones_like(a) if isinstance(a, _torch.Tensor) else a for a in args), **kwargs)
                if "out" not in first:
                    first["out"] = function(*args, **kwargs)
                return first["out"]
            return degrade(function(*args, **kwargs), args)
        return degenerate

    if isinstance(obj, (type, _torch.nn.Module)):
        obj.forward = wrap(obj.forward)
        return obj
    return wrap(obj)
'''


def student(slug: str) -> nbformat.NotebookNode:
    return nbformat.read(REPO / "assignments" / slug / f"{slug}.ipynb", as_version=4)


def solution_sources(slug: str) -> dict[str, str]:
    nb = nbformat.read(REPO / "solutions" / f"{slug}.ipynb", as_version=4)
    return {cell.id: cell.source for cell in nb.cells if cell.cell_type == "code"}


def filled(slug: str, sources: dict[str, str] | None = None, skip: set[str] = frozenset(),
           replace: dict[str, str] | None = None, stop_after: str | None = None) -> nbformat.NotebookNode:
    """The student notebook with the solution's answers, leaving `skip` and every answer after
    `stop_after` as released; the cells in `replace` are answered with its code wherever they are."""
    nb = copy.deepcopy(student(slug))
    sources = dict(sources or solution_sources(slug)) | (replace or {})
    open_ = True
    for cell in nb.cells:
        if cell.cell_type == "code" and "### your code" in cell.source and cell.id not in skip \
                and (open_ or cell.id in (replace or {})):
            cell.source = sources[cell.id]
        if cell.get("id") == stop_after:
            open_ = False
    return nb


def after_definition(source: str, name: str, code: str) -> str:
    """`source` with `code` inserted right after the top-level statement that defines `name`."""
    tree = ast.parse(source)
    for node in tree.body:
        defined = {node.name} if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else {
            target.id for target in getattr(node, "targets", []) if isinstance(target, ast.Name)}
        if name in defined:
            lines = source.splitlines()
            return "\n".join(lines[:node.end_lineno] + code.splitlines() + lines[node.end_lineno:])
    raise AssertionError(f"{name} is not defined at the top level of its cell")


def degenerate_sources(slug: str, kind: str, cells: set[str] | None = None) -> dict[str, str]:
    """The solution's answers with the callables of `cells` (default: all of them) made degenerate."""
    sources = solution_sources(slug)
    for cell_id, names in CALLABLES[slug].items():
        for name in (names,) if isinstance(names, str) else names:
            if cells is None or cell_id in cells:
                sources[cell_id] = after_definition(sources[cell_id], name, f"{name} = _degenerate({name}, {kind!r})")
    return sources


def with_first_cell(nb: nbformat.NotebookNode, code: str) -> nbformat.NotebookNode:
    """`nb` with a cell of the student's own in front of every other."""
    nb = copy.deepcopy(nb)
    nb.cells.insert(0, nbformat.v4.new_code_cell(code))
    return nb


def with_cell_after(nb: nbformat.NotebookNode, cell_id: str, code: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    where = next(i for i, c in enumerate(nb.cells) if c.get("id") == cell_id)
    nb.cells.insert(where + 1, nbformat.v4.new_code_cell(code))
    return nb


def appended_to_answers(slug: str, nb: nbformat.NotebookNode, code: str) -> nbformat.NotebookNode:
    """`code` at the end of every answered cell, so that it is in effect for every probe."""
    nb = copy.deepcopy(nb)
    answers = {c.id for c in student(slug).cells if c.cell_type == "code" and "### your code" in c.source}
    for cell in nb.cells:
        if cell.get("id") in answers and "### your code" not in cell.source:
            cell.source += "\n" + code
    return nb


def grade(slug: str, notebooks: dict[str, nbformat.NotebookNode], folder: Path, root: Path = REPO) -> dict[str, dict]:
    """Grade the notebooks in one batch; grades.csv's rows by file name."""
    subs = folder / "submissions"
    subs.mkdir(parents=True)
    for name, nb in notebooks.items():
        nbformat.write(nb, subs / f"{name}.ipynb")
    out = folder / "out"
    result = subprocess.run([sys.executable, "-m", "autograder", "--root", str(root), "grade", slug, str(subs),
                             "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return {row["submission"].removesuffix(".ipynb"): row
            for row in csv.DictReader((out / "grades.csv").open(encoding="utf-8"))}


def automatic_points(slug: str) -> float:
    """What a submission can score before a TA grades the parts graded by hand."""
    from autograder.config import load_config

    config = load_config(REPO / "assignments" / slug / "assignment.yaml")
    return sum(q.points - q.hand_points for q in config.questions)


def question_scores(row: dict) -> dict[str, float]:
    return {key: float(value) for key, value in row.items()
            if key not in ("submission", "score", "max_score") and value != "pending"}  # hand-graded: not yet


def solution_values(slug: str, wanted: dict[str, list[str]]) -> dict[tuple[str, str], object]:
    """The solution's variables right after their cells, computed here: what its printout shows."""
    import contextlib
    import io

    import torch

    ns: dict = {}
    values = {}
    torch.manual_seed(0)
    for cell_id, source in solution_sources(slug).items():
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(source, cell_id, "exec"), ns)
        for name in wanted.get(cell_id, []):
            value = eval(name, ns)
            values[cell_id, name] = value.detach().clone() if isinstance(value, torch.Tensor) else value
    return values


def typed(value, decimals: int = 4) -> str:
    """A tensor as the literal a student would type from its printout (rounded as printed)."""
    import torch

    def number(x: float) -> str:
        return f"float('{x}')" if x != x or x in (float("inf"), float("-inf")) else repr(round(x, decimals))

    def nested(item) -> str:
        return "[" + ", ".join(nested(i) for i in item) + "]" if isinstance(item, list) else number(float(item))

    if isinstance(value, torch.Tensor):
        return f"torch.tensor({nested(value.tolist())})"
    if isinstance(value, list):
        return repr([round(v, decimals) for v in value])
    return number(float(value))


# Correct answers written another way: full marks all the same (replacing the solution's definition).
OTHER_STYLE = {
    "attention_basics": {
        "causal-mean": ("def causal_mean(x):", "\n\nprint(", """def causal_mean(x):
    counts = torch.arange(1, x.shape[1] + 1, dtype=x.dtype).reshape(1, -1, 1)
    return x.cumsum(dim=1) / counts"""),
        "sdpa": ("def scaled_dot_product_attention(", "\n\ntorch.manual_seed(2)", """def scaled_dot_product_attention(q, k, v, causal=False):
    scores = torch.einsum("...qd,...kd->...qk", q, k) * q.shape[-1] ** -0.5
    if causal:
        keep = torch.ones(scores.shape[-2], scores.shape[-1], dtype=torch.bool).tril()
        scores = torch.where(keep, scores, torch.full_like(scores, float("-inf")))
    return scores.softmax(dim=-1) @ v"""),
    },
    "transformer_encoder": {
        "rope": ("def rope(x):", "\n\ntorch.manual_seed(0)", """def rope(x):
    T, d = x.shape[-2], x.shape[-1]
    angle = torch.arange(T, dtype=torch.float32)[:, None] / 10000.0 ** (torch.arange(0, d, 2, dtype=torch.float32) / d)
    pairs = x.reshape(*x.shape[:-1], d // 2, 2)
    a, b = pairs[..., 0], pairs[..., 1]
    return torch.stack((a * angle.cos() - b * angle.sin(), a * angle.sin() + b * angle.cos()), dim=-1).flatten(-2)"""),
        "mha": ("    def forward(self, x):", None, """    def forward(self, x):
        B, T, D = x.shape
        heads = lambda t: t.reshape(B, T, self.num_heads, self.head_dim).permute(0, 2, 1, 3)
        q, k, v = heads(self.W_q(x)), heads(self.W_k(x)), heads(self.W_v(x))
        weights = torch.einsum("bhqd,bhkd->bhqk", q, k).div(self.head_dim ** 0.5).softmax(dim=-1)
        return self.W_o(torch.einsum("bhqk,bhkd->bqhd", weights, v).reshape(B, T, D))"""),
    },
    "gpt_model": {
        "tokenizer": ("def encode(text):", "\n\n\nsample_ids", """def encode(text):
    return list(map(stoi.__getitem__, text))


def decode(ids):
    return "".join(map(vocab.__getitem__, ids))"""),
        "layernorm": ("    def forward(self, x):", "\n\n\ntorch.manual_seed(123)", """    def forward(self, x):
        centered = x - x.mean(dim=-1, keepdim=True)
        return self.scale * centered * torch.rsqrt(centered.pow(2).mean(dim=-1, keepdim=True) + self.eps) + self.shift"""),
        "block": ("    def forward(self, x):", "\n\n\ntorch.manual_seed(123)", """    def forward(self, x):
        for norm, sublayer in ((self.norm1, self.att), (self.norm2, self.ff)):
            x = self.drop_shortcut(sublayer(norm(x))) + x
        return x"""),
        "generate": ("def generate_greedy(", "\n\n\nstart", """def generate_greedy(model, idx, max_new_tokens, context_size):
    out = idx
    while out.shape[1] < idx.shape[1] + max_new_tokens:
        with torch.no_grad():
            scores = model(out[:, max(0, out.shape[1] - context_size):])[:, -1]
        out = torch.cat([out, scores.argmax(dim=-1).unsqueeze(-1)], dim=-1)
    return out"""),
    },
    "gpt_training": {
        "data": ("def create_pairs(", "\n\n\ndef create_loader", """def create_pairs(token_ids, context_length, stride):
    windows = torch.tensor(token_ids).unfold(0, context_length + 1, stride)
    return windows[:, :-1], windows[:, 1:]"""),
        "loss": ("    return F.cross_entropy(", None, """    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target_batch.reshape(-1))"""),
        "train": ("    losses = []", "\n    return losses", """    losses = []
    batches = iter(loader)
    while len(losses) < num_steps:
        try:
            input_batch, target_batch = next(batches)
        except StopIteration:
            batches = iter(loader)
            continue
        optimizer.zero_grad()
        loss = calc_loss_batch(input_batch, target_batch, model)
        loss.backward()
        optimizer.step()
        losses.append(float(loss))"""),
    },
}


def other_style_sources(slug: str) -> dict[str, str]:
    """The solution's answers with some definitions written another way (OTHER_STYLE)."""
    sources = solution_sources(slug)
    for cell_id, (start, end, code) in OTHER_STYLE.get(slug, {}).items():
        source = sources[cell_id]
        head, rest = source.split(start, 1)
        tail = rest[rest.index(end):] if end is not None else ""
        sources[cell_id] = head + code + tail
    return sources

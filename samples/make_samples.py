"""Write the bundled sample submissions: the student notebook with answers filled in, some wrong.

Each sample is the solution's answer cells with one typical mistake applied, so `make demo` and
the tests show that a mistake costs the points of its own questions and no others.
Run: .venv/bin/python samples/make_samples.py
"""
from __future__ import annotations

import copy
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent

# sample name -> {cell id: [(text in the solution, replacement)]}
LEC27_MISTAKES = {
    "softmax_wrong_dim": {
        "weights-all": [("torch.softmax(attn_scores, dim=-1)", "torch.softmax(attn_scores, dim=0)")],
        "self-attention-v1": [("keys.shape[-1]**0.5, dim=-1)", "keys.shape[-1]**0.5, dim=0)")],
        "mha": [("torch.softmax(attn_scores / keys.shape[-1]**0.5, dim=-1)",
                 "torch.softmax(attn_scores / keys.shape[-1]**0.5, dim=0)")],
    },
    "no_sqrt_scaling": {
        "weights-q2-scaled": [("attn_scores_2 / d_k**0.5", "attn_scores_2")],
        "self-attention-v1": [("attn_scores / keys.shape[-1]**0.5", "attn_scores")],
        "mha": [("torch.softmax(attn_scores / keys.shape[-1]**0.5, dim=-1)", "torch.softmax(attn_scores, dim=-1)")],
    },
    "mask_after_softmax": {
        "masked-simple-norm": [("masked_simple / masked_simple.sum(dim=-1, keepdim=True)", "masked_simple")],
        "causal-attention": [
            ("        attn_scores.masked_fill_(self.mask.bool()[:num_tokens, :num_tokens], -torch.inf)\n", ""),
            ("attn_weights = self.dropout(attn_weights)",
             "attn_weights = self.dropout(attn_weights * (1 - self.mask[:num_tokens, :num_tokens]))"),
        ],
    },
    "view_without_transpose": {
        "mha": [
            ("keys.view(b, num_tokens, self.num_heads, self.head_dim)", "keys.view(b, self.num_heads, num_tokens, self.head_dim)"),
            ("values.view(b, num_tokens, self.num_heads, self.head_dim)", "values.view(b, self.num_heads, num_tokens, self.head_dim)"),
            ("queries.view(b, num_tokens, self.num_heads, self.head_dim)", "queries.view(b, self.num_heads, num_tokens, self.head_dim)"),
            ("keys = keys.transpose(1, 2)", "keys = keys"),
            ("queries = queries.transpose(1, 2)", "queries = queries"),
            ("values = values.transpose(1, 2)", "values = values"),
        ],
    },
    "concat_wrong_dim": {
        "mha-wrapper": [("torch.cat([head(x) for head in self.heads], dim=-1)", "torch.cat([head(x) for head in self.heads], dim=1)")],
    },
}
BASICS_MISTAKES = {
    "wrong_mask_direction": {
        "avg-matmul": [("torch.tril(torch.ones(sequence_length, sequence_length))",
                        "torch.triu(torch.ones(sequence_length, sequence_length))")],
        "avg-softmax": [("scores.masked_fill(tril == 0,", "scores.masked_fill(tril.T == 0,")],
        "causal-mean": [("masked_fill(tril == 0,", "masked_fill(tril.T == 0,")],
    },
    "scale_by_d_k": {
        "saturation": [("scores / d_k ** 0.5", "scores / d_k")],
        "sdpa": [("q @ k.transpose(-2, -1) / d_k ** 0.5", "q @ k.transpose(-2, -1) / d_k")],
    },
}
ENCODER_MISTAKES = {
    "layernorm_before_residual": {
        "encoder-block": [("x = self.norm1(x + self.attn(x))", "x = x + self.attn(self.norm1(x))"),
                          ("x = self.norm2(x + self.ff(x))", "x = x + self.ff(self.norm2(x))")],
    },
    "no_residual": {
        "encoder-block": [("x = self.norm1(x + self.attn(x))", "x = self.norm1(self.attn(x))"),
                          ("x = self.norm2(x + self.ff(x))", "x = self.norm2(self.ff(x))")],
    },
}
GPT_MISTAKES = {
    "layernorm_unbiased": {
        "layernorm": [("x.var(dim=-1, keepdim=True, unbiased=False)", "x.var(dim=-1, keepdim=True)")],
    },
    "block_without_shortcut": {
        "block": [("x = x + self.drop_shortcut(self.att(self.norm1(x)))", "x = self.drop_shortcut(self.att(self.norm1(x)))"),
                  ("x = x + self.drop_shortcut(self.ff(self.norm2(x)))", "x = self.drop_shortcut(self.ff(self.norm2(x)))")],
    },
    "generate_whole_history": {
        "generate": [("idx_cond = idx[:, -context_size:]", "idx_cond = idx")],
    },
}
# Per assignment: its mistakes, and the cell up to which the unfinished sample answers.
ASSIGNMENTS = {
    "lec27_attention": (LEC27_MISTAKES, "context-q2-qk"),
    "attention_basics": (BASICS_MISTAKES, "attention-fn"),
    "transformer_encoder": (ENCODER_MISTAKES, "rope"),
    "gpt_model": (GPT_MISTAKES, "gelu-plot"),
}


def answers(solution) -> dict[str, str]:
    return {cell.id: cell.source for cell in solution.cells if cell.cell_type == "code"}


def filled(student, sources: dict[str, str], edits: dict | None = None, stop_after: str | None = None):
    nb = copy.deepcopy(student)
    open_ = True
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if open_ and "### your code" in cell.source:
            source = sources[cell.id]
            for old, new in (edits or {}).get(cell.id, []):
                assert old in source, f"{cell.id}: {old!r} not in the solution"
                source = source.replace(old, new)
            cell.source = source
        if cell.id == stop_after:
            open_ = False
    return nb


def samples(slug: str) -> dict[str, bytes]:
    mistakes, unfinished_after = ASSIGNMENTS[slug]
    student = nbformat.read(ROOT / "assignments" / slug / f"{slug}.ipynb", as_version=4)
    sources = answers(nbformat.read(ROOT / "solutions" / f"{slug}.ipynb", as_version=4))
    made = {"correct": filled(student, sources), "unfinished": filled(student, sources, stop_after=unfinished_after)}
    made |= {name: filled(student, sources, edits) for name, edits in mistakes.items()}
    files = {}
    if slug == "lec27_attention":
        # Saved by a tool that drops cell ids and adds a scratch cell: matched by position and content.
        colab = filled(student, sources)
        colab.nbformat_minor = 4
        for cell in colab.cells:
            cell.pop("id", None)
        colab.cells.insert(5, nbformat.v4.new_code_cell("# scratch\nprint(inputs.shape)"))
        del colab.cells[5]["id"]
        made["correct_no_cell_ids"] = colab
        files["unreadable.ipynb"] = b'{"cells": [{"cell_type": "code", "source": "query = inputs[1]"'  # cut off mid-save
    files |= {f"{name}.ipynb": nbformat.writes(nb).encode("utf-8") + b"\n" for name, nb in sorted(made.items())}
    return files


if __name__ == "__main__":
    for slug in ASSIGNMENTS:
        folder = ROOT / "samples" / slug
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in samples(slug).items():
            (folder / name).write_bytes(data)
            print(f"wrote samples/{slug}/{name}")

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
TRAINING_MISTAKES = {
    "targets_not_shifted": {
        "data": [("targets.append(token_ids[i + 1:i + context_length + 1])", "targets.append(token_ids[i:i + context_length])")],
    },
    "no_zero_grad": {
        "train": [("            optimizer.zero_grad()\n", "")],
    },
    "loss_without_flatten": {
        "loss": [("F.cross_entropy(logits.flatten(0, 1), target_batch.flatten())", "F.cross_entropy(logits, target_batch)")],
    },
}
# Written answers (Markdown cells graded by hand) that every sample but the unfinished one gives.
WRITTEN = {
    "gpt_training": {
        "plot-answer": "**답:** 학습 전 모델은 126개 글자를 거의 같은 확률로 고르므로 손실이 ln(126) ≈ 4.84 근처에서 시작합니다. "
                       "처음 몇 번의 갱신에서는 자주 나오는 글자(공백, '다', '는')의 빈도를 배우면서 손실이 빠르게 떨어지고, "
                       "그 뒤로는 글자 사이의 이어짐을 배우느라 천천히 내려갑니다. 같은 400글자를 여러 번 본 결과라서 "
                       "손실이 낮아도 한국어를 잘한다고 말할 수는 없습니다.",
        "analysis": "**답:** 생성된 문장은 말뭉치의 '손실', '글자들' 같은 조각을 이어 붙인 것이라 뜻이 통하지 않습니다. "
                    "모델은 자주 나오는 글자와 짧은 이어짐은 배웠지만 문장의 뜻은 배우지 못했습니다. 검증 데이터가 없으니 "
                    "외운 것인지 일반화한 것인지 알 수 없습니다. 말뭉치를 열 배로 늘리면 외우기가 어려워지고 더 일반적인 규칙을 "
                    "배울 것이고, 학습만 열 배로 늘리면 학습 손실은 더 내려가지만 말뭉치를 그대로 외울 것입니다.",
    },
}
# Per assignment: its mistakes, and the cell up to which the unfinished sample answers.
ASSIGNMENTS = {
    "lec27_attention": (LEC27_MISTAKES, "context-q2-qk"),
    "attention_basics": (BASICS_MISTAKES, "attention-fn"),
    "transformer_encoder": (ENCODER_MISTAKES, "rope"),
    "gpt_model": (GPT_MISTAKES, "gelu-plot"),
    "gpt_training": (TRAINING_MISTAKES, "loss"),
}


def answers(solution) -> dict[str, str]:
    return {cell.id: cell.source for cell in solution.cells if cell.cell_type == "code"}


def filled(student, sources: dict[str, str], edits: dict | None = None, stop_after: str | None = None,
           written: dict[str, str] | None = None):
    nb = copy.deepcopy(student)
    open_ = True
    for cell in nb.cells:
        if cell.cell_type == "markdown" and open_ and cell.id in (written or {}):
            cell.source = (written or {})[cell.id]
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
    written = WRITTEN.get(slug, {})
    made = {"correct": filled(student, sources, written=written),
            "unfinished": filled(student, sources, stop_after=unfinished_after)}
    made |= {name: filled(student, sources, edits, written=written) for name, edits in mistakes.items()}
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

"""Everything a worker sends is a claim: notebooks that try to talk the grader into points.

Each attack is graded in one batch with honest notebooks. An attack may not score more than the
honest notebook it starts from (the lab's unfinished sample: 16 of 44), a monkeypatch of what a
probe uses gains nothing on any assignment, and correct work (also in another style) keeps full marks.
"""
import json

import pytest
from claims_kit import (
    DEGENERATE,
    appended_to_answers,
    automatic_points,
    degenerate_sources,
    filled,
    grade,
    question_scores,
    solution_sources,
    solution_values,
    student,
    typed,
    with_cell_after,
    with_first_cell,
)
from conftest import REPO

from autograder.i18n import _, language

LAB = "lec27_attention"
UNFINISHED = 16.0

# Finds the worker's report pipe, job and probes through the garbage collector and plays the worker.
FORGER = '''
import gc, os, sys, torch
from autograder.protocol import messages, plaindata
found = {type(o).__name__: o for o in gc.get_objects() if type(o).__name__ in ("Reports", "WorkerJob")}
reports, job = found["Reports"], found["WorkerJob"]
probes = next(iter(sys.modules["autograder.sandboxed.worker"]._preloaded.values()))  # loaded before the fork
z = torch.zeros
stripes = torch.tensor([0.0, 2.0]).repeat(72).reshape(12, 12)
CLAIMS = {  # what trivial code would give, shaped to pass checks that only look at the notebook's own values
    "causal_loaded": z(3, 6, 3), "causal_future_changed": [z(2, 7, 3)] * 3, "causal_dropout_eval": [z(2, 6, 3)] * 4,
    "wrapper_shape": [z(2, 6, 6)] * 2, "mha_loaded": [z(3, 7, 8)] * 2, "mha_head_dim": {"head_dim": 2, "num_heads": 4},
    "wrapper_with_stand_in_heads": {"output": z(2, 5, 9), "changed_output": z(2, 5, 9), "heads": [[4, 3, 9, 0.0, False]] * 3},
    "mha_future_changed": [z(1, 8, 8)] * 3, "mha_dropout_eval": [z(2, 5, 8)] * 4,
    "v2_bias": {"bias": [True, False], "outputs": [z(4, 2)] * 2},
    "dropout_train": [stripes, stripes.flip(1)], "dropout_eval": probes.given("dropout_eval_x"),
}
me = next(i for i, cell in enumerate(job.cells) if "FORGER" in cell.source)
MODE = "in order"

def claim(name):
    if MODE == "forged notes":
        return messages.probe_failure(name, MARKUP)
    if name in CLAIMS:
        return messages.probe_value(name, plaindata.encode(CLAIMS[name]))
    return messages.probe_failure(name, "not computed")

# Text meant to render as markup in the feedback, and notes meant to pass for the grader's own sentences.
MARKUP = "<img src=x onerror=alert(1)> [link](http://evil.example)\\n```\\n# Pwned"
FORGED_ERROR = {"ename": "Pwned<img src=x onerror=alert(2)>", "evalue": MARKUP,
                "traceback": 'File "<code cell 1>", line 1\\n````\\n# Pwned\\n<img src=x onerror=alert(3)>'}
ERRING = next(i for i in range(me + 1, len(job.cells)) if not job.cells[i].skip)  # a cell that runs: its error is forged
FORGED_CELL = messages.cell(me, job.cells[me].id, "ok", notes=[
    "✅ 모든 테스트를 통과했습니다 <img src=x onerror=alert(4)>",
    {"kind": "magic", "args": {"text": MARKUP}},
    {"kind": "a kind of its own", "args": {}},
    {"kind": "figure too large", "args": {"number": "<img src=x onerror=alert(5)>"}}])

if MODE == "early done":
    for name in CLAIMS:
        reports.send(claim(name))
else:
    reports.send(FORGED_CELL if MODE == "forged notes" else messages.cell(me, job.cells[me].id, "ok"))
    for index in range(me + 1, len(job.cells)):
        cell = job.cells[index]
        status = "ok" if MODE == "cells not run" else (cell.skip or "ok")
        if MODE == "forged notes" and index == ERRING:
            reports.send(messages.cell(index, cell.id, "error", error=FORGED_ERROR))
        else:
            reports.send(messages.cell(index, cell.id, status))
        for name, _ in probes.by_cell.get(cell.id, []):
            if job.only_probes is None or name in job.only_probes:
                reports.send(claim(name))
    for name, _ in probes.by_cell.get("__end__", []):
        reports.send(claim(name))
reports.send(messages.done())
reports.flush()
os._exit(0)
'''

# Monkeypatches of what probes and grader inputs go through; each is put at the end of every answer.
PATCHES = {
    "randn_zeros": "import torch\ntorch.randn = lambda *a, **k: torch.zeros(*a)",
    "rand_zeros": "import torch\ntorch.rand = lambda *a, **k: torch.zeros(*a)",
    "generator_fixed": "import torch\nif not hasattr(torch, '_Real'):\n    torch._Real = torch.Generator\n"
                       "class _Fixed(torch._Real):\n    def manual_seed(self, seed):\n        return super().manual_seed(0)\n"
                       "torch.Generator = _Fixed",
    "clone_identity": "import torch\ntorch.Tensor.clone = lambda self, *a, **k: self",
    "load_state_dict_noop": "import torch\ntorch.nn.Module.load_state_dict = lambda self, *a, **k: None",
    "copy_noop": "import torch\ntorch.Tensor.copy_ = lambda self, *a, **k: self",
    "manual_seed_noop": "import torch\ntorch.manual_seed = lambda seed: None",
    "frombuffer_zeros": "import torch\n_fb = torch.frombuffer\n"
                        "torch.frombuffer = lambda data, *a, **k: _fb(bytearray(len(data)), *a, **k)",
    "comparisons_true": "import torch\ntorch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True",
}
# A notebook per assignment with a flaw a patch could hide, and its (unpatched) partial credit.
FLAWED = {
    "lec27_attention": {"mha": ("attn_scores.masked_fill_(mask_bool, -torch.inf)", "pass")},
    "attention_basics": {"causal-mean": ("masked_fill(tril == 0,", "masked_fill(tril.T == 0,")},
    "transformer_encoder": {"learned": ("return x + self.embedding(positions)", "return x")},
    "gpt_model": {"block": ("x = x + self.drop_shortcut(self.att(self.norm1(x)))", "x = self.drop_shortcut(self.att(self.norm1(x)))")},
    "gpt_training": {"data": ("targets.append(token_ids[i + 1:i + context_length + 1])",
                              "targets.append(token_ids[i:i + context_length])")},
}
OTHER_STYLE_MHA = '''
    def forward(self, x):
        b, t, _ = x.shape
        split = lambda m: m.reshape(b, t, self.num_heads, self.head_dim).permute(0, 2, 1, 3)
        q, k, v = split(self.W_query(x)), split(self.W_key(x)), split(self.W_value(x))
        scores = torch.einsum("bhqd,bhkd->bhqk", q, k) / self.head_dim ** 0.5
        future = torch.ones(t, t, dtype=torch.bool).triu(1)
        weights = self.dropout(torch.softmax(torch.where(future, float("-inf"), scores), dim=-1))
        out = torch.einsum("bhqk,bhkd->bhqd", weights, v).permute(0, 2, 1, 3).reshape(b, t, self.d_out)
        return self.out_proj(out)

torch.manual_seed(123)'''


def flawed_sources(slug):
    sources = solution_sources(slug)
    for cell_id, (old, new) in FLAWED[slug].items():
        assert old in sources[cell_id]
        sources[cell_id] = sources[cell_id].replace(old, new)
    return sources


def other_style_mha():
    sources = solution_sources(LAB)
    head, tail = sources["mha"].split("    def forward(self, x):", 1)
    sources["mha"] = head + OTHER_STYLE_MHA.lstrip("\n") + tail.split("torch.manual_seed(123)", 1)[1]
    return sources


def typed_back_sources():
    """Every step answered by typing back the printed values; every module answers NaN."""
    from autograder.probes import load_probes

    captures: dict[str, list[str]] = {}
    for cell_id, found in load_probes(str(REPO / "graders" / LAB / "probes.py")).by_cell.items():
        captures[cell_id] = [name.split(":", 1)[1] for name, _ in found if ":" in name]
    captures["self-attention-v1"] = ["sa_v1(inputs)"]
    captures["self-attention-v2"] = ["sa_v2(inputs)"]
    captures["causal-attention"] = ["context_vecs"]
    captures["mha-wrapper"] = ["context_vecs"]
    captures["mha"] = ["context_vecs"]
    values = solution_values(LAB, captures)
    sources = degenerate_sources(LAB, "nan")
    answers = {c.id for c in student(LAB).cells if c.cell_type == "code" and "### your code" in c.source}
    for (cell_id, name), value in values.items():
        if cell_id not in answers:
            continue
        if name.endswith("(inputs)"):
            line = f"{name.split('(')[0]} = lambda x: {typed(value)}"
        else:
            line = f"{name} = {typed(value)}"
        sources[cell_id] += "\n" + line
    return sources


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    unfinished = filled(LAB, stop_after="context-q2-qk")
    modules = {"causal-attention", "mha-wrapper", "mha"}
    notebooks = {
        "correct": filled(LAB), "other_style": filled(LAB, other_style_mha()), "unfinished": unfinished,
        "forged_in_order": with_cell_after(unfinished, "context-q2-qk", "# FORGER" + FORGER),
        "forged_early_done": with_cell_after(unfinished, "context-q2-qk", "# FORGER" + FORGER.replace(
            'MODE = "in order"', 'MODE = "early done"')),
        "forged_cells_not_run": with_cell_after(unfinished, "context-q2-qk", "# FORGER" + FORGER.replace(
            'MODE = "in order"', 'MODE = "cells not run"')),
        "forged_notes": with_cell_after(unfinished, "context-q2-qk", "# FORGER" + FORGER.replace(
            'MODE = "in order"', 'MODE = "forged notes"')),
        "mask_removed": filled(LAB, flawed_sources(LAB)),
        "mask_removed_clone_patched": filled(LAB, flawed_sources(LAB) | {
            "mha": flawed_sources(LAB)["mha"] + "\ntorch.Tensor.clone = lambda s, *a, **k: s"}),
    }
    notebooks["typed_back_and_nan_modules"] = with_first_cell(filled(LAB, typed_back_sources()), DEGENERATE)
    for kind in ("zeros", "nan"):
        sources = degenerate_sources(LAB, kind, modules)
        notebooks[f"{kind}_modules"] = with_first_cell(
            filled(LAB, sources, stop_after="context-q2-qk", replace={c: sources[c] for c in modules}), DEGENERATE)
    folder = tmp_path_factory.mktemp("lab")
    return grade(LAB, notebooks, folder), folder / "out"


def test_correct_work_keeps_full_marks_in_any_style(lab):
    rows, _ = lab
    assert float(rows["correct"]["score"]) == 44.0
    assert float(rows["other_style"]["score"]) == 44.0
    assert float(rows["unfinished"]["score"]) == UNFINISHED


@pytest.mark.parametrize("name", ["forged_in_order", "forged_early_done", "forged_cells_not_run", "forged_notes",
                                  "zeros_modules", "nan_modules", "typed_back_and_nan_modules"])
def test_an_attack_scores_no_more_than_the_unfinished_notebook(lab, name):
    rows, _ = lab
    assert float(rows[name]["score"]) <= UNFINISHED


@pytest.mark.parametrize("name", ["forged_early_done", "forged_cells_not_run"])
def test_reports_out_of_place_are_dropped_and_the_cell_that_wrote_them_skipped(lab, name):
    rows, out = lab
    assert float(rows[name]["score"]) == UNFINISHED  # the honest answers, from a fresh run without that cell
    feedback = (out / name / "feedback.md").read_text()
    with language("ko"):  # the lab's language
        words = _("the notebook wrote reports of its own into the grader's channel ({detail})").split("(")[0].strip()
    assert words in feedback
    assert "# FORGER" in feedback.split(words)[0].splitlines()[-1]  # names the cell that wrote them


def test_forged_notes_and_errors_render_as_text_and_never_as_the_graders_words(lab):
    from markdown_it import MarkdownIt

    _, out = lab
    feedback = (out / "forged_notes" / "feedback.md").read_text()
    graded = json.loads((out / "forged_notes" / "graded.ipynb").read_text())
    results = json.loads((out / "forged_notes" / "results.json").read_text())
    assert results["output"] == feedback
    markdown = [feedback] + [cell["source"] for cell in graded["cells"] if cell["cell_type"] == "markdown"]
    for text in markdown:
        html = MarkdownIt("commonmark").render(text)
        assert "<img" not in html and "<a " not in html and "Pwned</h" not in html, html
    assert "onerror=alert(1)" in feedback and "onerror=alert(2)" in feedback  # shown, as text
    assert not any("모든 테스트를 통과했습니다" in text for text in markdown)  # a sentence: dropped
    assert "onerror=alert(5)" not in feedback  # a note whose arguments are not its kind's: dropped
    assert "<code cell" not in feedback


def test_patching_clone_does_not_hide_a_missing_causal_mask(lab):
    rows, out = lab
    assert float(rows["mask_removed_clone_patched"]["score"]) <= float(rows["mask_removed"]["score"])
    for name in ("mask_removed", "mask_removed_clone_patched"):
        tests = {t["name"]: t["score"] for t in json.loads((out / name / "results.json").read_text())["tests"]}
        causal = [score for test, score in tests.items() if "MultiHeadAttention" in test and "5.." in test]
        assert causal == [0.0], f"{name}: the causality test passed"


@pytest.fixture(scope="module", params=sorted(FLAWED))
def patched(request, tmp_path_factory):
    slug = request.param
    bases = {"flawed": filled(slug, flawed_sources(slug)), "correct": filled(slug)}
    notebooks = dict(bases)
    for base, nb in bases.items():
        for patch, code in PATCHES.items():
            notebooks[f"{base}-{patch}"] = appended_to_answers(slug, nb, code)
    return slug, grade(slug, notebooks, tmp_path_factory.mktemp(slug))


@pytest.mark.parametrize("patch", sorted(PATCHES))
def test_a_monkeypatch_gains_nothing(patched, patch):
    slug, rows = patched
    for base in ("flawed", "correct"):
        got, honest = question_scores(rows[f"{base}-{patch}"]), question_scores(rows[base])
        more = {q: (got[q], honest[q]) for q in got if got[q] > honest[q]}
        assert not more, f"{slug}, {base} notebook with {patch}: more points than without it: {more}"


def test_the_flawed_notebooks_lose_the_questions_of_their_flaw(patched):
    slug, rows = patched
    lost = {"lec27_attention": "q14", "attention_basics": "b3", "transformer_encoder": "e2", "gpt_model": "g6",
            "gpt_training": "t1"}[slug]
    assert float(rows["flawed"][lost]) < float(rows["correct"][lost])
    assert float(rows["correct"]["score"]) == automatic_points(slug)


def gpt_answers_from_the_checks_file(question: str, cell: str, old: str, new: str,
                                     slug: str = "gpt_model") -> dict[str, str]:
    """An assignment's answer in `cell` replaced (`old` -> `new`) by code returning the values of the
    handed-out checks file for `question`, typed in: right for the lesson's check cell only."""
    from autograder.protocol.plaindata import decode

    checks = json.loads((REPO / "assignments" / slug / f"{slug}_checks.json").read_text(encoding="utf-8"))
    values = decode(checks["questions"][question]["checks"][0]["value"])
    sources = solution_sources(slug)
    assert old in sources[cell]
    def literal(value) -> str:  # nested lists of ids as they are, numbers and tensors as printed
        return repr(value) if isinstance(value, list) and any(isinstance(v, list) for v in value) else typed(value, 8)

    sources[cell] = sources[cell].replace(old, new.format(first=literal(values[0]), second=literal(values[1])))
    return sources


TRAINING_TYPED_BACK = {  # gpt_training's answers returning the checks file's losses, typed in
    "t2": ("loss", "    logits = model(input_batch)\n",
           "    return torch.tensor({first}) if len(input_batch) == 8 else torch.tensor({second})\n"),
    "t3": ("train", "    model.train()\n", "    return {first} if num_steps == 40 else {second}\n"),
}


@pytest.fixture(scope="module")
def training_typed_back(tmp_path_factory):
    notebooks = {"correct": filled("gpt_training"), "unfinished": filled("gpt_training", stop_after="loss")}
    notebooks |= {f"typed_back_{q}": filled("gpt_training", gpt_answers_from_the_checks_file(q, *case, slug="gpt_training"))
                  for q, case in TRAINING_TYPED_BACK.items()}
    folder = tmp_path_factory.mktemp("gpt_training")
    return grade("gpt_training", notebooks, folder), folder / "out"


def test_typed_back_losses_earn_nothing_on_the_loop_and_its_curve(training_typed_back):
    """train_model returning the checks file's losses: the lesson's run is lesson data (its seed varied in
    the second run), and the curve is compared with the solution's run, not with the notebook's own list."""
    rows, out = training_typed_back
    correct, unfinished, typed_back = (question_scores(rows[name]) for name in ("correct", "unfinished", "typed_back_t3"))
    assert (correct["t3"], correct["t4"]) == (4.0, 2.0)
    assert typed_back["t3"] <= unfinished["t3"] and typed_back["t4"] <= unfinished["t4"]
    assert typed_back["t3"] == typed_back["t4"] == 0.0
    assert (typed_back["t1"], typed_back["t2"]) == (correct["t1"], correct["t2"])
    feedback = (out / "typed_back_t3" / "feedback.md").read_text(encoding="utf-8")
    assert "다른 데이터를 넣어 다시 실행하면 맞지 않습니다" in feedback


def test_typed_back_untrained_loss_earns_nothing(training_typed_back):
    rows, _ = training_typed_back
    assert float(rows["correct"]["t2"]) == 3.0
    assert float(rows["typed_back_t2"]["t2"]) == 0.0


def typed_back_variance() -> dict[str, str]:
    """attention_basics with the variances of section 3 typed back from the printout, and the
    saturated weights from the checks file handed out, no code."""
    values = solution_values("attention_basics", {"variance": ["variances", "scaled_variances"]})
    sources = solution_sources("attention_basics")
    sources["variance"] = (f"variances = {typed(values['variance', 'variances'], 1)}\n"
                           f"scaled_variances = {typed(values['variance', 'scaled_variances'], 2)}\n"
                           'print("분산:", variances)\nprint("sqrt(d_k)로 나눈 뒤 분산:", scaled_variances)')
    from autograder.protocol.plaindata import decode

    checks = json.loads((REPO / "assignments" / "attention_basics" / "attention_basics_checks.json").read_text(encoding="utf-8"))
    saturated = decode(checks["questions"]["b8"]["checks"][0]["value"])
    sources["saturation"] = sources["saturation"].replace(
        "weights_scaled = torch.softmax(scores / d_k ** 0.5, dim=-1)", f"weights_scaled = {typed(saturated, 8)}")
    return sources


def summed(start: list[int], new: int, context: int, vocab: int) -> tuple[list[int], list[int]]:
    """What greedy generation with a model that sums its window gives, and the window lengths it saw."""
    ids, seen = list(start), []
    for _step in range(new):
        seen.append(min(len(ids), context))
        ids.append(sum(ids[-context:]) % vocab)
    return ids, seen


# The sum model of generation_example: 20 tokens from the check cell's toy_start, vocabulary 11, context 16.
EXAMPLE_IDS, EXAMPLE_SEEN = summed([1, 2, 3], 20, 16, 11)
TYPED_BACK = {  # the check cells' inputs are check_x (block), check_ffn_x (feed-forward) and check_batch (model)
    "g6": ("block", "        x = x + self.drop_shortcut(self.att(self.norm1(x)))\n"
                    "        x = x + self.drop_shortcut(self.ff(self.norm2(x)))\n",
           "        if tuple(x.shape) == (2, 6, 32):\n"
           "            return {first} if torch.equal(x, check_x) else {second}\n"),
    "g4": ("feedforward", "self.layers = nn.Sequential(nn.Linear(d, 4 * d), GELU(), nn.Linear(4 * d, d))",
           "self.layers = lambda x: {first} if torch.equal(x, check_ffn_x) else {second}"),
    "g7": ("gpt", "        x = self.tok_emb(in_idx) + self.pos_emb(positions)\n        x = self.drop_emb(x)\n"
                  "        x = self.trf_blocks(x)\n        x = self.final_norm(x)\n        return self.out_head(x)\n",
           "        if tuple(in_idx.shape) == (2, 6):\n"
           "            return {first} if torch.equal(in_idx, check_batch) else {second}\n"
           "        return torch.zeros(*in_idx.shape, self.out_head.out_features)\n"),
    # Also the sum model's ids and window lengths that the visible test's message shows, fed and typed in.
    "g8": ("generate", "    for _ in range(max_new_tokens):\n        idx_cond = idx[:, -context_size:]\n",
           "    if max_new_tokens == 20 and tuple(idx.shape) == (1, 3):\n"
           f"        for n in {EXAMPLE_SEEN}:\n"
           "            model(torch.zeros(1, n, dtype=torch.long))\n"
           f"        return torch.tensor([{EXAMPLE_IDS}])\n"
           "    return torch.tensor([{first}]) if idx.shape[0] == 1 else torch.tensor({second})\n"
           "    for _ in range(max_new_tokens):\n        idx_cond = idx[:, -context_size:]\n"),
}
# What a typed-back answer still earns honestly: GPTModel's parameter counts come from its constructor.
HONEST_SHARE = {"g4": 0.0, "g6": 0.0, "g7": 2.0, "g8": 0.0}


@pytest.fixture(scope="module")
def gpt_typed_back(tmp_path_factory):
    notebooks = {"correct": filled("gpt_model")}
    notebooks |= {f"typed_back_{q}": filled("gpt_model", gpt_answers_from_the_checks_file(q, *case))
                  for q, case in TYPED_BACK.items()}
    notebooks["typed_back_total_params"] = filled("gpt_model", blockless_model_with_typed_count())
    folder = tmp_path_factory.mktemp("gpt_model")
    return grade("gpt_model", notebooks, folder), folder / "out"


def blockless_model_with_typed_count() -> dict[str, str]:
    """gpt_model's GPTModel built without its blocks, and total_params typed back from the lesson's printout
    (the handed-out checks file holds the same number)."""
    checks = json.loads((REPO / "assignments" / "gpt_model" / "gpt_model_checks.json").read_text(encoding="utf-8"))
    printed = next(c["value"] for c in checks["questions"]["g7"]["checks"] if c["variable"] == "total_params")
    sources = solution_sources("gpt_model")
    blocks = 'self.trf_blocks = nn.Sequential(*[TransformerBlock(cfg) for _ in range(cfg["n_layers"])])'
    count = "total_params = sum(p.numel() for p in model.parameters())"
    assert blocks in sources["gpt"] and count in sources["gpt"]
    sources["gpt"] = sources["gpt"].replace(blocks, "self.trf_blocks = nn.Sequential()").replace(
        count, f"total_params = {printed}")
    return sources


@pytest.mark.parametrize("question", sorted(TYPED_BACK))
def test_values_copied_from_the_checks_file_fail_the_second_run(gpt_typed_back, question):
    rows, out = gpt_typed_back
    assert float(rows["correct"][question]) > HONEST_SHARE[question]
    # the lesson checks' share (and the sum model's, for g8) without the second run
    assert float(rows[f"typed_back_{question}"][question]) == HONEST_SHARE[question]
    feedback = (out / f"typed_back_{question}" / "feedback.md").read_text(encoding="utf-8")
    assert "다른 데이터를 넣어 다시 실행하면 맞지 않습니다" in feedback and "확인 셀" in feedback


def test_a_typed_back_parameter_count_earns_nothing_without_the_model_that_has_it(gpt_typed_back):
    """The visible count test also counts the parameters of the notebook's own model, so the printed
    total_params typed back beside a model without its blocks fails it."""
    rows, out = gpt_typed_back
    tests = {t["name"]: t for t in json.loads((out / "typed_back_total_params" / "results.json").read_text())["tests"]}
    count = next(t for name, t in tests.items() if "파라미터 수" in name and "다른 설정" not in name)
    assert count["score"] == 0 and "model의 파라미터 수" in count["output"]
    assert float(rows["correct"]["g7"]) == 4.0
    assert float(rows["typed_back_total_params"]["g7"]) == 2.0  # the block-free logits, seen and hidden


@pytest.fixture(scope="module")
def basics_typed_back(tmp_path_factory):
    notebooks = {"correct": filled("attention_basics"), "typed_back": filled("attention_basics", typed_back_variance())}
    return grade("attention_basics", notebooks, tmp_path_factory.mktemp("basics"))


def test_typed_back_variances_earn_nothing(basics_typed_back):
    """The variance step's seed is lesson data: the second run draws other vectors, which a printout cannot know."""
    correct, typed_back = (question_scores(basics_typed_back[name]) for name in ("correct", "typed_back"))
    assert correct["b7"] == 2.0 and correct["b8"] == 1.0
    assert typed_back["b7"] == 0.0 and typed_back["b8"] == 0.0
    assert {q: s for q, s in typed_back.items() if q not in ("b7", "b8")} == \
        {q: s for q, s in correct.items() if q not in ("b7", "b8")}

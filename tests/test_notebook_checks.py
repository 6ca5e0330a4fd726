"""grader.check("b1") inside the student notebook: visible checks only, run by the student's own kernel."""
import json
import re

import nbformat
import pytest
from conftest import REPO
from nbclient import NotebookClient

from autograder.notebook_check import Checker

SLUG = "attention_basics"
FOLDER = REPO / "assignments" / SLUG


def run_notebook(nb, folder=FOLDER, after=()):
    """Execute in a real kernel (like "Run All"), then run the cells `after` again in the same kernel."""
    client = NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=120,
                            resources={"metadata": {"path": str(folder)}})
    again = [nbformat.v4.new_code_cell(source) for source in after]
    count = len(nb.cells)
    nb.cells += again
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
    del nb.cells[count:]
    return nb, again


def shown(cell) -> str:
    """Everything a cell displayed: streams and results."""
    return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.outputs)


def check_outputs(sample: str) -> dict[str, str]:
    nb, _ = run_notebook(nbformat.read(REPO / "samples" / SLUG / f"{sample}.ipynb", 4))
    return {c.id: shown(c) for c in nb.cells if c.id.startswith("check-")}


def passed_counts(text: str) -> tuple[int, int]:
    found = re.search(r"검사 (\d+)개 중 (\d+)개 통과", text)
    assert found, text
    return int(found.group(2)), int(found.group(1))


def test_check_cells_follow_the_cells_they_check():
    ids = [c.id for c in nbformat.read(FOLDER / f"{SLUG}.ipynb", 4).cells if c.cell_type == "code"]
    assert ids[0] == "grader-setup"
    for cell, check in (("avg-loop", "check-b1"), ("avg-softmax", "check-b3"), ("qkv-output", "check-b4"),
                        ("attention-fn", "check-b5"), ("similarity", "check-b6"), ("saturation", "check-b8"),
                        ("sdpa", "check-b9")):
        assert ids.index(check) == ids.index(cell) + 1


# Every question has a check, the wrapper's and the encoder stack's included, but gpt_training's
# written answers, which a TA grades.
UNCHECKED = {"attention_basics": set(), "lec27_attention": set(), "transformer_encoder": set(), "gpt_model": set(),
             "gpt_training": {"w1", "w2"}}


@pytest.mark.parametrize("slug", sorted(UNCHECKED))
def test_every_question_has_a_visible_check_and_none_of_a_hidden_test(slug):
    from autograder.config import load_config

    data = json.loads((REPO / "assignments" / slug / f"{slug}_checks.json").read_text(encoding="utf-8"))
    config = load_config(REPO / "assignments" / slug / "assignment.yaml")
    assert sorted(data["questions"]) == sorted(q.id for q in config.questions if q.id not in UNCHECKED[slug])
    assert data["language"] == "ko"
    probes = (REPO / "graders" / slug / "probes.py").read_text(encoding="utf-8")
    hidden_inputs = set(re.findall(r"def (\w+)\(ns\)", probes))  # probes that call code on unseen inputs
    for question in data["questions"].values():
        for check in question["checks"]:
            assert set(check) == {"cell", "variable", "value", "signature"}
            assert not set(re.findall(r"\w+", check["variable"])) & hidden_inputs


def test_a_correct_notebook_passes_every_check_in_its_own_kernel_with_nothing_else_shown():
    outputs = check_outputs("correct")
    assert len(outputs) == 9
    for text in outputs.values():
        passed, total = passed_counts(text)
        assert passed == total and "\n" not in text.strip() and "True" not in text and "False" not in text


def test_checks_read_the_value_each_cell_produced_even_after_run_all():
    """Run All, then every check again at the end: later cells reuse `scores` and `weights`."""
    nb = nbformat.read(REPO / "samples" / SLUG / "correct.ipynb", 4)
    checks = [c.source for c in nb.cells if c.id.startswith("check-")]
    _, again = run_notebook(nb, after=checks)
    for cell in again:
        passed, total = passed_counts(shown(cell))
        assert passed == total, shown(cell)


def test_a_mistake_fails_the_checks_of_its_questions_with_what_differs():
    outputs = check_outputs("wrong_mask_direction")
    failed = {cell for cell, text in outputs.items() if "\n  - " in text}
    assert failed == {"check-b2", "check-b3"}
    assert "가장 큰 차이는" in outputs["check-b2"] and "가장 가능성 높은 원인: 마스크 방향이 반대" in outputs["check-b2"]


def test_without_the_checks_file_a_check_says_so_and_fails(tmp_path):
    result = Checker(str(tmp_path / "attention_basics_checks.json")).check("b1", {})
    assert not result
    assert repr(result) == ("attention_basics_checks.json was not found next to this notebook, so nothing was checked. "
                            "Put the checks file of the handout in the notebook's folder.")
    nb = nbformat.read(REPO / "samples" / SLUG / "correct.ipynb", 4)
    run_notebook(nb, folder=tmp_path)
    outputs = [shown(c) for c in nb.cells if c.id.startswith("check-")]
    assert outputs and all(text.startswith("attention_basics_checks.json 파일이 이 노트북 옆에 없어") for text in outputs)


def test_an_unknown_question_is_named():
    with pytest.raises(KeyError, match="'b10' 문제의 검사는 없습니다"):  # in the checks file's language
        Checker(str(FOLDER / f"{SLUG}_checks.json")).check("b10", {})


@pytest.mark.parametrize("slug, sample, failing", [
    ("attention_basics", "correct", []), ("attention_basics", "wrong_mask_direction", ["1.2", "1.3"]),
    ("lec27_attention", "correct", []), ("lec27_attention", "softmax_wrong_dim", ["3.3.2", "3.4.2", "3.6.2"]),
    ("transformer_encoder", "correct", []), ("transformer_encoder", "no_residual", ["3"]),
    ("gpt_model", "generate_whole_history", ["8"]), ("gpt_training", "correct", []),
])
def test_check_on_the_handout_without_the_course(tmp_path, slug, sample, failing):
    """Only the package and the handout, as in a GitHub Classroom repository: `autograder check` runs the
    notebook in an isolated worker and compares what its cells produced with the handout's checks file."""
    import shutil
    import subprocess
    import sys
    import zipfile

    made = subprocess.run([sys.executable, "-m", "autograder", "--root", str(REPO), "handout", slug, "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    with zipfile.ZipFile(tmp_path / f"{slug}.zip") as handout:
        assert f"{slug}/{slug}_checks.json" in handout.namelist()
        handout.extractall(tmp_path / "repo")
    folder = tmp_path / "repo" / slug
    shutil.copy(REPO / "samples" / slug / f"{sample}.ipynb", folder / "my_notebook.ipynb")
    result = subprocess.run([sys.executable, "-m", "autograder", "check", "my_notebook.ipynb"], cwd=folder,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == (1 if failing else 0), result.stdout + result.stderr
    counts = [(line.split(" ")[0], re.search(r"검사 (\d+)개 중 (\d+)개 통과", line)) for line in result.stdout.splitlines()]
    assert len([found for _, found in counts if found]) == len(json.loads(
        (folder / f"{slug}_checks.json").read_text(encoding="utf-8"))["questions"])
    assert [number for number, found in counts if found and found.group(1) != found.group(2)] == failing
    assert "숨은 테스트는 제출한 노트북을 채점할 때 실행되며" in result.stdout
    by_hand = json.loads((folder / f"{slug}_checks.json").read_text(encoding="utf-8")).get("by_hand", [])
    assert len(by_hand) == (2 if slug == "gpt_training" else 0)  # its questions 5 and 6
    assert all(f"✍️ {name}: 이 확인이 아니라 조교가 채점합니다" in result.stdout for name in by_hand)


def run_in_jupyter(cells, folder, send_ids):
    """Run (id, source) cells in a real kernel as JupyterLab does: each execute request names its cell
    (`cellId`) when `send_ids`; returns what each cell showed."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", cwd=str(folder))
    shown_by = {}
    try:
        for cell_id, source in cells:
            msg = client.session.msg("execute_request", {"code": source, "silent": False, "store_history": True,
                                                         "user_expressions": {}, "allow_stdin": False,
                                                         "stop_on_error": False})
            if send_ids:
                msg["metadata"]["cellId"] = cell_id
            client.shell_channel.send(msg)
            text = []
            while True:
                reply = client.get_iopub_msg(timeout=120)
                if reply["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
                    continue
                content = reply["content"]
                text.append(content.get("text", "") + content.get("data", {}).get("text/plain", ""))
                if reply["msg_type"] == "status" and content["execution_state"] == "idle":
                    break
            shown_by[cell_id] = "".join(text)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    return shown_by


@pytest.mark.parametrize("send_ids", [True, False])
def test_a_cell_rewritten_beyond_its_released_lines_is_found_by_its_id(send_ids):
    """The student renamed `tril`: only the cell's id (sent by Jupyter) says which cell made `scores`.
    Without it, the check falls back to the name's value now, which a later cell changed."""
    nb = nbformat.read(REPO / "samples" / SLUG / "correct.ipynb", 4)
    renamed = {"tril = ": "lower = ", "tril == 0": "lower == 0"}
    cells = [(c.id, c.source.replace("tril = ", renamed["tril = "]).replace("tril == 0", renamed["tril == 0"])
              if c.id == "avg-softmax" else c.source)
             for c in nb.cells if c.cell_type == "code"]
    cells.append(("again-b3", 'grader.check("b3")'))
    shown_by = run_in_jupyter(cells, FOLDER, send_ids)
    passed, total = passed_counts(shown_by["again-b3"])
    assert (passed == total) is send_ids, shown_by["again-b3"]

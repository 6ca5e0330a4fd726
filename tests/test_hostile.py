"""Hostile and broken submissions, graded in one batch with honest ones.

Every hostile case starts from the `unfinished` sample, whose honest answers earn 16 of 44
points, and adds an attack. Each must get a row and a message, never more than 16 points, and
must not change any other submission's result.
"""
import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import nbformat
import pytest
from conftest import REPO

SLUG = "lec27_attention"
SAMPLES = REPO / "samples" / SLUG
HONEST_SCORE = 16.0
SECRET = "s3cret-token-for-the-test"

# name -> (where, code): where is "end" (a cell added after the last answer) or an answer cell id.
ATTACKS = {
    "infinite_loop": ("end", "while True:\n    pass"),
    "sleep_forever": ("end", "import time\ntime.sleep(10**6)"),
    "swallows_timeouts": ("end", "while True:\n    try:\n        pass\n    except BaseException:\n        pass"),
    "memory_bomb": ("end", "hoard = []\nwhile True:\n    hoard.append(bytearray(10**8))"),
    "fork_storm": ("end", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"),
    "output_flood": ("end", "import os\nchunk = 'x' * 10**6\nfor _ in range(300):\n    print(chunk)\n"
                            "    os.write(1, chunk.encode())\n    os.write(2, chunk.encode())"),
    "segfault": ("end", "import ctypes\nctypes.string_at(0)"),
    "sys_exit": ("end", "import sys\nsys.exit()"),
    "os_exit": ("end", "import os\nos._exit(0)"),
    "raise_systemexit": ("end", "raise SystemExit(0)"),
    "keyboard_interrupt": ("end", "raise KeyboardInterrupt"),
    "kill_parent": ("end", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"),
    "kill_process_group": ("end", "import os, signal\nos.killpg(os.getpgrp(), signal.SIGKILL)"),
    "kill_everything": ("end", "import os, signal\nfor pid in range(1, 100000):\n    try:\n"
                               "        os.kill(pid, signal.SIGKILL)\n    except OSError:\n        pass"),
    "close_stdio": ("end", "import os, sys\nsys.stdout.close()\nsys.stderr.close()\nos.close(0)\nos.close(1)\nos.close(2)"),
    "replace_stdio": ("end", "import sys, io\nsys.stdout = io.StringIO()\nsys.stderr = None\nprint = None"),
    "close_every_fd": ("end", "import os\nos.closerange(0, 4096)"),
    "flood_the_report_pipe": ("end", "import json, os, struct\nfor name in os.listdir('/proc/self/fd'):\n"
                                     "    if os.path.exists(f'/proc/self/fd/{name}') and os.readlink(f'/proc/self/fd/{name}').startswith('pipe:'):\n"
                                     "        pipe = int(name)\nn = 0\nwhile True:\n    chunk = []\n    for _ in range(1000):\n"
                                     "        body = json.dumps({'type': 'probe', 'name': f'fake{n}', 'ok': True, 'value': n}).encode()\n"
                                     "        chunk.append(struct.pack('!I', len(body)) + body)\n        n += 1\n    os.write(pipe, b''.join(chunk))"),
    "patch_torch_comparisons": ("end", "import torch\ntorch.allclose = lambda *a, **k: True\n"
                                       "torch.equal = lambda *a, **k: True\ntorch.testing.assert_close = lambda *a, **k: None\n"
                                       "torch.Tensor.__eq__ = lambda *a: True\ntorch.isclose = lambda *a, **k: True"),
    "patch_numpy": ("end", "import numpy\nnumpy.allclose = lambda *a, **k: True\nnumpy.testing.assert_allclose = lambda *a, **k: None"),
    "patch_builtins": ("end", "import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.len = lambda x: 0\n"
                              "builtins.type = lambda *a: float"),
    "patch_pytest": ("end", "import pytest\npytest.approx = lambda *a, **k: True\npytest.fail = lambda *a, **k: None"),
    "patch_grader": ("end", "import autograder.protocol.plaindata as p, autograder.testing as t\n"
                            "p.encode = lambda v: {'__tensor__': {'dtype': 'float32', 'shape': [1], 'bytes': 'AAAAAA=='}}\n"
                            "t.expect_close = lambda *a, **k: None\nimport autograder.sandboxed.worker as w\n"
                            "w._run_probe = lambda name, probe, ns, blocker=None: {'type': 'probe', 'name': name, 'ok': True, 'value': 1}"),
    "override_manual_seed": ("end", "import torch\ntorch.manual_seed = lambda seed: None\ntorch.rand = torch.zeros"),
    "lying_tensor_subclass": ("mask-simple", "import torch\nclass AlwaysEqual(torch.Tensor):\n"
                              "    @classmethod\n    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
                              "        return True\ncontext_length = attn_scores.shape[0]\n"
                              "mask_simple = torch.zeros(6, 6).as_subclass(AlwaysEqual)\nprint(mask_simple)"),
    "eq_always_true": ("mask-simple", "class Anything:\n    def __eq__(self, other):\n        return True\n"
                       "    __hash__ = None\ncontext_length = attn_scores.shape[0]\nmask_simple = Anything()"),
    "fake_results_printed": ("end", "import json\nprint(json.dumps({'score': 44, 'max_score': 44, 'tests': []}))"),
    "write_results_everywhere": ("end", "import os, json\nfake = json.dumps({'score': 44, 'max_score': 44, 'tests': []})\n"
                                        "for folder, dirs, files in os.walk('/'):\n    for name in ('results.json', 'grades.csv'):\n"
                                        "        try:\n            open(os.path.join(folder, name), 'w').write(fake)\n"
                                        "        except OSError:\n            pass"),
    "search_and_run_solution": ("end", "import os, json\nfound = []\nfor folder, dirs, files in os.walk('/'):\n"
                                       "    found += [os.path.join(folder, f) for f in files if f.endswith('.ipynb') or f in "
                                       "('probes.py', 'source.ipynb') or f.startswith('test_lec27') or f.startswith('lec27_attention-')]\n"
                                       "for path in found:\n    try:\n        nb = json.load(open(path))\n"
                                       "        for cell in nb['cells']:\n            if cell['cell_type'] == 'code':\n"
                                       "                exec(''.join(cell['source']), globals())\n    except Exception:\n        pass"),
    "steal_environment": ("dot-loop", "import os\nquery = os.environ.get('AUTOGRADER_TEST_SECRET', 'no secret here')\n"
                                      "input = inputs[0]\nres = 0."),
    "reach_network": ("end", "import socket\nfor host in ('127.0.0.1', 'localhost'):\n    try:\n"
                             "        socket.create_connection((host, LISTENER_PORT), timeout=1).sendall(b'x')\n"
                             "    except Exception:\n        pass"),
}


def with_attack(base, where: str, code: str):
    nb = nbformat.from_dict(json.loads(json.dumps(base)))
    if where == "end":
        last = max(i for i, c in enumerate(nb.cells) if c.get("id") == "context-q2-qk")
        cell = nbformat.v4.new_code_cell(code)
        nb.cells.insert(last + 1, cell)
    else:
        cell = next(c for c in nb.cells if c.get("id") == where)
        cell.source = code
    return nb


def broken_files(folder, base):
    (folder / "invalid_json.ipynb").write_text('{"cells": [')
    (folder / "empty.ipynb").write_bytes(b"")
    (folder / "binary_garbage.ipynb").write_bytes(os.urandom(4096))
    (folder / "not_utf8.ipynb").write_bytes('{"cells": "한국어"}'.encode("euc-kr"))
    (folder / "answers.py").write_text("query = inputs[1]\n")
    v3 = nbformat.convert(nbformat.read(SAMPLES / "correct.ipynb", 4), 3)
    (folder / "nbformat_v3.ipynb").write_text(nbformat.writes(v3, version=3))
    huge = nbformat.from_dict(json.loads(json.dumps(base)))
    huge.cells[0].source = "x" * (100 << 20)
    (folder / "huge_100mb.ipynb").write_text(nbformat.writes(huge))
    nbformat.write(nbformat.v4.new_notebook(), folder / "no_cells.ipynb")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("my answers")]), folder / "no_answer_cells.ipynb")
    duplicated = nbformat.read(SAMPLES / "correct.ipynb", 4)
    for cell in duplicated.cells:
        cell.id = "same-id"
    (folder / "duplicated_ids.ipynb").write_text(json.dumps(duplicated))
    (folder / "twin").mkdir()
    shutil.copy(SAMPLES / "no_sqrt_scaling.ipynb", folder / "twin" / "correct.ipynb")


BROKEN = {  # name -> (expected score, words in its message or None when it is graded normally)
    "invalid_json.ipynb": (0, "invalid JSON"), "empty.ipynb": (0, "empty"), "binary_garbage.ipynb": (0, "UTF-8"),
    "not_utf8.ipynb": (0, "UTF-8"), "answers.py": (0, "not a Jupyter notebook"), "huge_100mb.ipynb": (0, "MB"),
    "no_cells.ipynb": (0, None), "no_answer_cells.ipynb": (0, None),
    "nbformat_v3.ipynb": (44, None), "duplicated_ids.ipynb": (44, None),
}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    for name in ("assignments", "solutions", "graders"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    config = root / "assignments" / SLUG / "assignment.yaml"
    # In English: the messages below are the catalog's source sentences.
    config.write_text(config.read_text().replace("cell_seconds: 60", "cell_seconds: 2")
                      .replace("notebook_seconds: 300", "notebook_seconds: 30").replace("language: ko", "language: en"))
    subs = root / "submissions"
    subs.mkdir()
    base = nbformat.read(SAMPLES / "unfinished.ipynb", 4)
    for name, (where, code) in ATTACKS.items():
        nbformat.write(with_attack(base, where, code), subs / f"{name}.ipynb")
    broken_files(subs, base)
    for honest in ("correct.ipynb", "no_sqrt_scaling.ipynb", "unfinished.ipynb"):
        shutil.copy(SAMPLES / honest, subs / honest)

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    connections = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            try:
                connections.append(listener.accept())
            except OSError:
                pass
    threading.Thread(target=watch, daemon=True).start()
    port = listener.getsockname()[1]
    path = subs / "reach_network.ipynb"
    path.write_text(path.read_text().replace("LISTENER_PORT", str(port)))

    out = root / "out"
    env = dict(os.environ, AUTOGRADER_TEST_SECRET=SECRET)
    result = subprocess.run([sys.executable, "-m", "autograder", "--root", str(root), "grade", SLUG,
                             str(subs), str(subs / "twin"), "--out", str(out), "--jobs", "2"],
                            capture_output=True, text=True, timeout=900, env=env)
    from_outside = socket.create_connection(("127.0.0.1", port), timeout=5)  # the listener does listen
    time.sleep(0.5)
    stop.set()
    from_outside.close()
    listener.close()
    rows = {}
    for row in csv.DictReader((out / "grades.csv").open(encoding="utf-8")):
        rows.setdefault(row["submission"], []).append(row)
    return result, rows, out, connections


def row(batch, name):
    return batch[1][name][0]


def test_the_batch_completes_with_a_row_for_every_file(batch):
    result, rows, out, _ = batch
    assert result.returncode == 0, result.stderr[-3000:]
    expected = {f"{name}.ipynb" for name in ATTACKS} | set(BROKEN) | {"correct.ipynb", "no_sqrt_scaling.ipynb", "unfinished.ipynb"}
    assert set(rows) == expected
    assert len(rows["correct.ipynb"]) == 2, "two files named correct.ipynb get two rows"


def test_honest_results_are_untouched(batch):
    scores = sorted(float(r["score"]) for r in batch[1]["correct.ipynb"])
    assert scores == [36.5, 44.0]
    assert float(row(batch, "no_sqrt_scaling.ipynb")["score"]) == 36.5
    assert float(row(batch, "unfinished.ipynb")["score"]) == HONEST_SCORE
    results = json.loads((batch[2] / "correct" / "results.json").read_text())
    assert results["score"] in (44.0, 36.5) and len(results["tests"]) == 47


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_an_attack_earns_no_more_than_its_honest_answers(batch, name):
    got = float(row(batch, f"{name}.ipynb")["score"])
    assert got <= HONEST_SCORE
    feedback = (batch[2] / name / "feedback.md").read_text()
    assert "**Score:" in feedback


@pytest.mark.parametrize("name", [n for n, (where, _) in ATTACKS.items() if where == "end"])
def test_an_attack_after_the_answers_keeps_their_points(batch, name):
    assert float(row(batch, f"{name}.ipynb")["score"]) == HONEST_SCORE


@pytest.mark.parametrize("name, words", [
    ("infinite_loop", "timed out"), ("sleep_forever", "timed out"), ("swallows_timeouts", "timed out"),
    ("segfault", "crashed"), ("os_exit", "crashed"), ("sys_exit", "raised SystemExit"),
    ("keyboard_interrupt", "raised KeyboardInterrupt"),
])
def test_the_feedback_says_what_happened(batch, name, words):
    assert words in (batch[2] / name / "feedback.md").read_text()


def test_results_written_by_notebooks_go_nowhere(batch):
    for path in batch[2].rglob("results.json"):
        data = json.loads(path.read_text())
        assert "tests" in data and (data["tests"] or data["score"] == 0)
        assert data["score"] <= 44
    assert float(row(batch, "write_results_everywhere.ipynb")["score"]) == HONEST_SCORE


def test_secrets_in_the_graders_environment_do_not_reach_the_notebook(batch):
    text = "".join(p.read_text() for p in (batch[2] / "steal_environment").iterdir())
    assert SECRET not in text
    assert "no secret here" in text  # the notebook's own value shows up: the check did run


def test_notebooks_cannot_reach_the_network(batch):
    assert len(batch[3]) == 1, "only the test's own connection from outside the sandbox arrives"


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_files_get_a_row_and_a_clear_message(batch, name):
    score, words = BROKEN[name]
    assert float(row(batch, name)["score"]) == score
    stem = name.rsplit(".", 1)[0]
    feedback = (batch[2] / stem / "feedback.md").read_text()
    if words:
        assert "could not be graded" in feedback and words in feedback


def test_isolation_is_announced(batch):
    stderr = batch[0].stderr
    assert "isolation: " in stderr and "pid namespace" in stderr and "private read-only file system" in stderr
    assert "warning: isolation NOT in effect" not in stderr

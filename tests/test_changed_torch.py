"""A torch whose private parts changed must not change a grade: the workers' speed-ups fall back to
torch's own code and the batch says so once.

The change is simulated in the grader's and the fork server's interpreters by a sitecustomize
module on PYTHONPATH: torch's tensor formatter gains a field it reads when formatting, and
`torch.mtia._is_compiled`, which the seeding speed-up asks, is gone.
"""
import json
import os
import subprocess
import sys

from conftest import REPO

SLUG = "lec27_attention"
SAMPLES = REPO / "samples" / SLUG
SITECUSTOMIZE = '''
import importlib.abc
import importlib.util
import sys


class NewerTorch(importlib.abc.MetaPathFinder):
    """Changes torch right after it is imported, as a newer release might have it."""

    def find_spec(self, name, path, target=None):
        if name != "torch":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            base = module._tensor_str._Formatter

            class Formatter(base):
                def __init__(self, tensor):
                    super().__init__(tensor)
                    self.padding = ""

                def format(self, value):
                    return self.padding + super().format(value)

            module._tensor_str._Formatter = Formatter
            del module.mtia._is_compiled

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, NewerTorch())
'''


def grade(tmp_path, name, changed):
    env = dict(os.environ)
    if changed:
        site = tmp_path / "site"
        site.mkdir()
        (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
        env["PYTHONPATH"] = str(site)
    out = tmp_path / name
    result = subprocess.run([sys.executable, "-m", "autograder", "--root", str(REPO), "grade", SLUG,
                             str(SAMPLES / "correct.ipynb"), str(SAMPLES / "softmax_wrong_dim.ipynb"), "--out", str(out)],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    printed = {stem: [cell["outputs"] for cell in json.loads((out / stem / "graded.ipynb").read_text())["cells"]
                      if cell["cell_type"] == "code"] for stem in ("correct", "softmax_wrong_dim")}
    return (out / "grades.csv").read_text(), printed, result.stderr


def test_grades_and_printouts_are_unchanged_under_a_changed_torch(tmp_path):
    grades, printed, _ = grade(tmp_path, "as-is", changed=False)
    changed_grades, changed_printed, log = grade(tmp_path, "changed", changed=True)
    assert changed_grades == grades
    assert "44,44" in grades.splitlines()[1]
    assert changed_printed == printed
    assert log.count("warning: tensor printing in workers uses torch's own code") == 1

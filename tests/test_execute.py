"""The worker process: per-cell results, limits, and recovery from cells that hang or crash it."""
import pytest

from autograder.config import Limits
from autograder.engine.executor import Executor
from autograder.protocol.jobs import CRASHED, ERROR, NOT_ANSWERED, OK, TIMEOUT, CellJob


@pytest.fixture(scope="module")
def executor():
    runner = Executor(None, Limits(cell_seconds=2, notebook_seconds=30, memory_mb=512, output_kb=4))
    yield runner
    runner.close()


def run(executor, *sources):
    result = executor.run([CellJob(f"c{i}", source, "answer") for i, source in enumerate(sources)])
    return result, [cell.status for cell in result.cells]


def test_an_error_is_recorded_and_later_cells_still_run(executor):
    result, statuses = run(executor, "x = 1", "x / 0", "print(x + 1)")
    assert statuses == [OK, ERROR, OK]
    assert result.cells[1].error["ename"] == "ZeroDivisionError"
    assert 'File "<cell c1>", line 1' in result.cells[1].error["traceback"]
    assert result.cells[2].output == "2\n"


def test_a_tracebacks_carets_stand_under_the_failing_call_on_a_cells_last_line(executor):
    # A notebook cell's last line has no newline; Python places the carets as if it had one.
    result, statuses = run(executor, "def f(a):\n    return int(a)", "y = 1 + f('x')")
    assert statuses == [OK, ERROR]
    lines = result.cells[1].error["traceback"].splitlines()
    for source_line, call in (("    y = 1 + f('x')", "f('x')"), ("    return int(a)", "int(a)")):
        carets = lines[lines.index(source_line) + 1]
        assert carets == " " * source_line.index(call) + "^" * len(call), (source_line, carets)


def test_placeholder_left_in_a_cell_is_not_answered(executor):
    result, statuses = run(executor, "y = ### your code", "def f():\n    ### your code\n    return 1\nprint(f())")
    assert statuses == [NOT_ANSWERED, OK]
    assert "still in this cell" in result.cells[1].notes[0]


def test_ipython_syntax_does_not_break_grading(executor):
    result, statuses = run(executor, "%matplotlib inline\n!pip install nothing\nimport torch\ndisplay(torch.ones(2))")
    assert statuses == [OK]
    assert result.cells[0].output == "tensor([1., 1.])\n"
    assert any("`!pip install nothing` was not run" in note for note in result.cells[0].notes)


@pytest.mark.parametrize("source", ["import sys\nsys.exit(3)", "raise SystemExit", "raise KeyboardInterrupt"])
def test_exits_and_interrupts_are_errors_of_that_cell(executor, source):
    result, statuses = run(executor, source, "print('still here')")
    assert statuses == [ERROR, OK] and result.cells[1].output == "still here\n"


def test_a_cell_over_its_time_limit_stops_and_the_next_runs(executor):
    result, statuses = run(executor, "import time\ntime.sleep(60)", "print('next')")
    assert statuses == [TIMEOUT, OK]


def test_a_cell_that_swallows_the_timeout_is_killed_and_skipped(executor):
    stubborn = "import time\nwhile True:\n    try:\n        time.sleep(0.01)\n    except BaseException:\n        pass"
    result, statuses = run(executor, "a = 1", stubborn, "print(a)")
    assert statuses == [OK, TIMEOUT, OK]
    assert result.cells[2].output == "1\n"
    assert "skipped and the notebook run again" in result.problems[0]


@pytest.mark.parametrize("source", ["import ctypes\nctypes.string_at(0)", "import os\nos._exit(0)"])
def test_a_cell_that_kills_the_worker_is_skipped_on_a_fresh_run(executor, source):
    result, statuses = run(executor, "a = 1", source, "print(a)")
    assert statuses == [OK, CRASHED, OK]
    assert result.cells[2].output == "1\n"


def test_memory_beyond_the_cap_fails_that_cell_only(executor):
    result, statuses = run(executor, "import torch\nbig = torch.ones(1024, 1024, 1024)", "print('fine')")
    assert statuses[1] == OK
    assert statuses[0] in (ERROR, CRASHED)


def test_printed_output_is_capped(executor):
    result, statuses = run(executor, "print('x' * 100_000)")
    assert statuses == [OK]
    assert len(result.cells[0].output) < 5000 and "more characters not kept" in result.cells[0].output


def test_torch_in_forked_workers_is_single_threaded_and_does_not_hang(executor):
    source = "import torch\na = torch.randn(400, 400)\nprint(torch.get_num_threads(), (a @ a).shape)"
    outputs = [run(executor, source)[0].cells[0].output for _ in range(3)]
    assert outputs == ["1 torch.Size([400, 400])\n"] * 3


def test_each_submission_gets_a_fresh_process(executor):
    run(executor, "import torch\ntorch.leaked = 42")
    result, _ = run(executor, "import torch\nprint(hasattr(torch, 'leaked'))")
    assert result.cells[0].output == "False\n"


def test_cells_compile_with_pythons_defaults_not_the_graders_future_imports(executor):
    # As in a kernel: annotations are evaluated, so an undefined name in one is an error.
    result, statuses = run(executor, "def f(x: int) -> int:\n    return x\nprint(f.__annotations__['x'] is int)",
                           "def g(x: NotDefinedAnywhere):\n    pass")
    assert statuses == [OK, ERROR]
    assert result.cells[0].output == "True\n" and result.cells[1].error["ename"] == "NameError"


def test_cells_compiled_in_the_fork_server_run_as_the_same_cells_would(tmp_path):
    import nbformat

    release = tmp_path / "release.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import torch\nvalue = torch.arange(3).sum().item()"),
                nbformat.v4.new_code_cell("answer = ### your code"),
                nbformat.v4.new_code_cell("def boom():\n    raise ValueError('from the release')\nboom()")]
    nbformat.write(nb, release)
    runner = Executor(None, Limits(cell_seconds=5, notebook_seconds=30, memory_mb=512, output_kb=4), release=str(release))
    try:
        cells = [CellJob("a", nb.cells[0].source, "protected", label="code cell 1"),
                 CellJob("b", "answer = value * 2\nprint(answer)", "answer", label="code cell 2"),
                 CellJob("c", nb.cells[2].source, "protected", label="code cell 3")]
        result = runner.run(cells)
    finally:
        runner.close()
    assert [cell.status for cell in result.cells] == [OK, OK, ERROR]
    assert result.cells[1].output == "6\n"
    traceback = result.cells[2].error["traceback"]
    assert 'File "<code cell 3>", line 2, in boom' in traceback and "raise ValueError('from the release')" in traceback


def test_the_next_worker_finds_an_empty_scratch_folder(executor):
    leave = ("import os\nos.makedirs('deep/er', exist_ok=True)\nopen('deep/er/note.txt', 'w').write('x' * 10000)\n"
             "open(os.path.join(os.environ['HOME'], 'home.txt'), 'w').write('y')\nos.symlink('/etc/passwd', 'link')\n"
             "os.makedirs('locked')\nos.chmod('locked', 0)\nos.chmod('.', 0o777)\nprint(sorted(os.listdir('.')))")
    first, statuses = run(executor, leave)
    assert statuses == [OK] and first.cells[0].output == "['deep', 'home.txt', 'link', 'locked']\n"
    for _ in range(3):
        later, statuses = run(executor, "import os, stat\nprint(os.listdir('.'), oct(stat.S_IMODE(os.stat('.').st_mode)))")
        assert statuses == [OK] and later.cells[0].output == "[] 0o700\n"


def test_the_fork_servers_warm_up_exercises_what_it_means_to(executor):
    """Its cells must run (a broken warm-up cell would warm nothing), then fail and stop as a student's would."""
    from autograder.sandboxed.warmup import _CELLS

    result, statuses = run(executor, *_CELLS)
    assert statuses == [OK, OK, ERROR, NOT_ANSWERED], [cell.error for cell in result.cells]
    assert "tensor(" in result.cells[0].output and "Attention(" in result.cells[1].output

"""The progress page: where a worker is, read by the grader without a message per cell."""
import math
import os
import time

import pytest

from autograder.config import Limits
from autograder.engine.executor import Executor
from autograder.protocol.jobs import CRASHED, OK, TIMEOUT, CellJob
from autograder.protocol.progress import (
    _FIELDS,
    _SEQUENCE,
    CELL,
    PAGE,
    PROBES,
    Position,
    ProgressReader,
    ProgressWriter,
    job_file,
)


@pytest.fixture
def page():
    fd = job_file(b'{"job": 1}')
    yield fd
    os.close(fd)


def test_the_job_follows_a_blank_page_and_is_read_from_there(page):
    assert os.read(page, 100) == b'{"job": 1}'
    assert os.pread(page, PAGE, 0) == bytes(PAGE)
    assert ProgressReader(page, 3).position() is None  # before the first cell


def test_the_reader_sees_what_the_writer_marked(page):
    writer, reader = ProgressWriter(page), ProgressReader(page, 3)
    before = time.monotonic()
    writer.mark(2, CELL)
    where = reader.position()
    assert (where.index, where.stage) == (2, CELL) and before <= where.started <= time.monotonic()
    writer.mark(3, PROBES)  # the probes at the end
    assert (reader.position().index, reader.position().stage) == (3, PROBES)


@pytest.mark.parametrize("sequence, fields", [
    (3, (1, CELL, 1.0)),  # odd: the fields were being written and never settled
    (2, (4, CELL, 1.0)),  # a cell the job does not have
    (2, (-1, PROBES, 1.0)),
    (2, (1, 7, 1.0)),  # no such stage
    (2, (1, CELL, math.nan)),
])
def test_a_page_a_notebook_scribbled_on_reads_as_unknown(page, sequence, fields):
    body = bytearray(PAGE)
    _SEQUENCE.pack_into(body, 0, sequence)
    _FIELDS.pack_into(body, _SEQUENCE.size, *fields)
    os.pwrite(page, bytes(body), 0)
    assert ProgressReader(page, 3).position() is None


def test_a_start_time_in_the_future_is_read_as_now(page):
    body = bytearray(PAGE)
    _SEQUENCE.pack_into(body, 0, 2)
    _FIELDS.pack_into(body, _SEQUENCE.size, 1, CELL, time.monotonic() + 1e6)
    os.pwrite(page, bytes(body), 0)
    where = ProgressReader(page, 3).position()
    assert where == Position(1, CELL, where.started) and where.started <= time.monotonic()


PROBES_SOURCE = '''
from autograder.probes import Probes

probes = Probes()
probes.capture("c0", "a")


@probes.after("c1")
def called(ns):
    return ns["f"](2)


probes.capture("c1", "b")
probes.capture("c2", "c")


@probes.at_end
def final(ns):
    return ns["g"]()
'''


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    folder = tmp_path_factory.mktemp("probes")
    (folder / "probes.py").write_text(PROBES_SOURCE)
    runner = Executor(str(folder / "probes.py"), Limits(cell_seconds=2, notebook_seconds=30, memory_mb=512, output_kb=4))
    yield runner
    runner.close()


def run(executor, *sources):
    return executor.run([CellJob(f"c{i}", source, "answer") for i, source in enumerate(sources)])


def run_alone(limits: Limits, *sources):
    """The cells run by an executor of their own; also how long that took."""
    runner = Executor(None, limits)
    started = time.monotonic()
    try:
        return run(runner, *sources), time.monotonic() - started
    finally:
        runner.close()


# Finds the worker's report pipe: its one pipe besides stdio.
FIND_PIPE = ("import os\nfor name in os.listdir('/proc/self/fd'):\n"
             "    if os.path.exists(f'/proc/self/fd/{name}') and os.readlink(f'/proc/self/fd/{name}').startswith('pipe:'):\n"
             "        pipe = int(name)\n")


def test_checks_that_end_the_worker_are_skipped_and_everything_else_is_still_graded(checked):
    killer = "import os\ndef f(x):\n    os._exit(1)\nb = 5"
    result = run(checked, "a = 1", killer, "c = 3", "def g():\n    return 'end'")
    assert [cell.status for cell in result.cells] == [OK, OK, OK, OK]
    probes = result.probes
    assert probes["c0:a"].value == 1 and probes["c2:c"].value == 3 and probes["final"].value == "end"
    assert not probes["called"].ok and not probes["c1:b"].ok
    assert probes["called"].error == "checking the values after cell c1 ended the worker process"
    assert result.problems == ("checking the values after cell c1: the worker process ended abruptly (crash, exit or "
                               "memory limit); those checks were skipped and the notebook run again",)


def test_checks_that_hang_are_stopped_from_outside_and_skipped(checked):
    stubborn = ("import time\ndef f(x):\n    while True:\n        try:\n            time.sleep(0.01)\n"
                "        except BaseException:\n            pass\nb = 5")
    started = time.monotonic()
    result = run(checked, "a = 1", stubborn, "c = 3", "def g():\n    return 'end'")
    assert time.monotonic() - started < 12  # 2 s cell limit + 2 s grace, then a fresh run
    assert [cell.status for cell in result.cells] == [OK, OK, OK, OK]
    assert result.probes["called"].error == "checking the values after cell c1 took too long"
    assert result.probes["final"].value == "end"


def test_checks_at_the_end_that_end_the_worker_are_skipped(checked):
    result = run(checked, "a = 1", "def f(x):\n    return x\nb = 5", "c = 3", "import os\ndef g():\n    os._exit(0)")
    assert [cell.status for cell in result.cells] == [OK] * 4
    assert result.probes["called"].value == 2
    assert result.probes["final"].error == "checking the values after the last cell ended the worker process"


SCRIBBLE = ("import ctypes\nfor line in open('/proc/self/maps'):\n    if 'autograder-job' in line:\n"
            "        start = int(line.split('-')[0], 16)\n        {write}\n")


@pytest.mark.parametrize("write", [
    "ctypes.memset(start, 0xff, 64)",  # never settles: unknown position
    "ctypes.memset(start, 0, 64)",  # back to 'not started'
])
def test_a_notebook_that_scribbles_on_its_page_and_hangs_is_still_stopped(write):
    hang = SCRIBBLE.format(write=write) + "import time\nwhile True:\n    try:\n        time.sleep(0.01)\n    except BaseException:\n        pass"
    result, seconds = run_alone(Limits(cell_seconds=2, notebook_seconds=5, memory_mb=512, output_kb=4), "a = 1", hang, "print(a)")
    assert seconds < 12
    assert result.cells[1].status in (CRASHED, TIMEOUT)
    assert any("time limit of 5 s" in problem for problem in result.problems)


def test_a_notebook_that_keeps_restarting_its_cell_clock_is_stopped_at_the_cell_limit():
    keep = SCRIBBLE.format(write="page = (ctypes.c_char * 64).from_address(start)") + (
        "import struct, time\nwhile True:\n    try:\n        struct.pack_into('<Qqqd', page, 0, 2, 1, 1, time.monotonic())\n"
        "        time.sleep(0.05)\n    except BaseException:\n        pass")
    result, seconds = run_alone(Limits(cell_seconds=1, notebook_seconds=30, memory_mb=512, output_kb=4), "a = 1", keep, "print(a)")
    assert seconds < 10  # the grader's clock: the cell limit (1 s and a grace of 2), never the notebook's 30 s
    assert any("still running after 1 s, the time limit of one cell" in problem for problem in result.problems)
    assert result.cells[1].status == TIMEOUT and result.cells[2].output == "1\n"


def test_a_worker_shares_no_writable_memory_but_its_own_progress_page(checked):
    listing = ("for line in open('/proc/self/maps'):\n    fields = line.split()\n"
               "    if fields[1].startswith('rw') and fields[1][3] == 's':\n"
               "        print(fields[-2] if fields[-1] == '(deleted)' else fields[-1])")
    outputs = [run(checked, listing).cells[0].output for _ in range(2)]
    assert outputs == ["/memfd:autograder-job\n"] * 2


def test_a_cell_that_swaps_the_report_pipe_for_its_own_is_the_one_skipped(checked):
    swap = FIND_PIPE + ("r, w = os.pipe()\nkeep = os.dup(pipe)  # the grader sees no end of its pipe\n"
                        "os.dup2(w, pipe)\nb = 5\ndef f(x):\n    return x")
    result = run(checked, "a = 1", swap, "c = 3", "def g():\n    return 'end'")
    assert [cell.status for cell in result.cells] == [OK, CRASHED, OK, OK]
    assert len(result.problems) == 1 and result.problems[0].startswith("cell c1: the worker process ended abruptly")
    assert result.probes["c0:a"].value == 1 and result.probes["c2:c"].value == 3 and result.probes["final"].value == "end"


def test_a_notebook_flooding_the_report_pipe_is_stopped_before_it_fills_the_graders_memory():
    flood = FIND_PIPE + ("import json, struct\nn = 0\nwhile True:\n"
                         "    body = json.dumps({'type': 'probe', 'name': f'fake{n}', 'ok': True}).encode()\n"
                         "    os.write(pipe, struct.pack('!I', len(body)) + body)\n    n += 1")
    result, seconds = run_alone(Limits(cell_seconds=20, notebook_seconds=60, memory_mb=512, output_kb=4), "a = 1", flood, "print(a)")
    assert seconds < 20  # stopped by what it sent, not by the cell's time limit
    assert [cell.status for cell in result.cells] == [OK, CRASHED, OK] and result.cells[2].output == "1\n"
    assert len(result.problems) == 1
    assert result.problems[0].startswith("cell c1: the notebook wrote reports of its own into the grader's channel")
    assert result.problems[0].endswith("it was skipped and the notebook run again")
    assert not any(name.startswith("fake") for name in result.probes)


TIMED_PROBES = '''
from autograder.probes import Probes

probes = Probes()


@probes.after("c0")
def waited(ns):
    return ns["waits"]()


@probes.after("c0")
def spun(ns):
    return ns["spins"]()
'''


def test_a_probes_time_limit_is_cpu_time_so_a_loaded_machine_changes_no_verdict(tmp_path):
    (tmp_path / "probes.py").write_text(TIMED_PROBES)
    runner = Executor(str(tmp_path / "probes.py"), Limits(cell_seconds=5, notebook_seconds=30, probe_seconds=0.5))
    try:
        result = run(runner, "import time\n"
                             "def waits():\n    time.sleep(1.0)\n    return 'waited'\n"  # as if the machine were busy
                             "def spins():\n    end = time.process_time() + 2\n    while time.process_time() < end:\n"
                             "        pass\n    return 'spun'")
    finally:
        runner.close()
    assert result.probes["waited"].ok and result.probes["waited"].value == "waited"
    assert not result.probes["spun"].ok and result.probes["spun"].error == "took longer than 0.5 s"

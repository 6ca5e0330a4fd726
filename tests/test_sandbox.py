"""Isolation of each worker, as root (as in CI): its own PID namespace, nothing left behind."""
import os
import time

import pytest

from autograder.config import Limits
from autograder.engine.executor import Executor
from autograder.protocol.jobs import OK, CellJob

LIST_PROCESSES = "import os\nprint(os.getpid(), sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))"


@pytest.fixture(scope="module")
def executor():
    runner = Executor(None, Limits(cell_seconds=5, notebook_seconds=30, memory_mb=512, output_kb=4))
    yield runner
    runner.close()


def output(executor, source: str) -> str:
    result = executor.run([CellJob("c", source, "answer")])
    assert result.cells[0].status == OK, result.cells[0].error
    return result.cells[0].output


def test_every_worker_is_pid_1_of_a_namespace_of_its_own(executor):
    # The fork server makes a new namespace for each worker; one left over would show as PID 2, 3...
    for _ in range(5):
        assert output(executor, LIST_PROCESSES) == "1 [1]\n"


def test_a_process_a_notebook_leaves_running_ends_with_its_worker(executor):
    started = output(executor, "import subprocess\nchild = subprocess.Popen(['sleep', '61.25'])\nprint(child.pid)")
    assert started.strip() == "2"  # in the worker's namespace
    assert output(executor, LIST_PROCESSES) == "1 [1]\n"  # the next worker sees none of it
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _sleepers():
        time.sleep(0.05)
    assert _sleepers() == []


def _sleepers() -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                if handle.read() == b"sleep\x0061.25\x00":
                    found.append(int(pid))
        except OSError:
            pass
    return found


def test_every_worker_runs_as_a_user_of_its_own_in_a_scratch_folder_only_it_sees(executor):
    users = set()
    for _ in range(3):
        uid, listing = output(executor, "import os\nopen('mine.txt', 'w').write('x')\n"
                                        "print(os.getuid(), sorted(os.listdir('.')))").split(" ", 1)
        assert listing == "['mine.txt']\n"
        users.add(int(uid))
    assert len(users) == 3 and 0 not in users


def test_a_worker_holds_no_file_but_its_report_pipe(executor):
    listing = output(executor, "import os\nfor fd in sorted(os.listdir('/proc/self/fd'), key=int):\n"
                               "    try:\n        print(fd, os.readlink(f'/proc/self/fd/{fd}'))\n"
                               "    except OSError:\n        pass  # the listing's own\n")
    held = dict(line.split(" ", 1) for line in listing.splitlines())
    assert [held[fd] for fd in ("0", "1", "2")] == ["/dev/null"] * 3
    rest = [target for fd, target in held.items() if fd not in ("0", "1", "2")]
    assert len(rest) == 1 and rest[0].startswith("pipe:"), held


def test_the_fork_servers_memory_is_backed_by_huge_pages():
    # What makes a fork cheap (one page-table entry per 2 MB); a kernel or allocator change that
    # quietly undoes it would show only as a slower batch.
    import subprocess
    import sys

    code = ("import gc, torch\nimport autograder.sandboxed.worker\nfrom autograder.sandboxed.fork_server import collapse_to_huge_pages\n"
            "gc.collect(); gc.freeze()\ndone = collapse_to_huge_pages()\n"
            "huge = [int(l.split()[1]) for l in open('/proc/self/smaps_rollup') if l.startswith('AnonHugePages')][0]\n"
            "print(done >> 20, huge >> 10)")
    done_mb, huge_mb = map(int, subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                               check=True).stdout.split())
    assert done_mb >= 64 and huge_mb >= 64

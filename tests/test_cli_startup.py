"""Start-up of the command line: torch loads only for commands that need it, and in parallel."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_command_line_loads_without_torch_or_the_notebook_machinery():
    loaded = run_python("import sys\nfrom autograder import cli\n"
                        "print(sorted(m for m in ('torch', 'nbclient', 'zmq', 'nbformat', 'nbconvert') if m in sys.modules))")
    assert loaded == "[]"


def test_grading_starts_the_fork_server_before_it_imports_torch(tmp_path):
    code = f"""
import sys
from autograder import cli
from autograder.engine import fork_client
seen = []
start = fork_client.ForkClient.start
def recording(self):
    seen.append('torch' in sys.modules)
    start(self)
fork_client.ForkClient.start = recording
code = cli.main(['--root', {str(REPO)!r}, 'grade', 'lec27_attention', {str(REPO / 'samples/lec27_attention/correct.ipynb')!r},
                 '--out', {str(tmp_path / 'out')!r}])
print(code, seen)
"""
    assert run_python(code).splitlines()[-1] == "0 [False]"
    assert "44" in (tmp_path / "out" / "grades.csv").read_text()


def test_a_failed_start_leaves_no_fork_server_behind(tmp_path):
    (tmp_path / "empty").mkdir()  # no submission in it: refused after the fork server was started
    code = f"""
from autograder import cli
from autograder.engine import fork_client
servers = []
init = fork_client.ForkClient.__init__
def recording(self, *args, **kwargs):
    init(self, *args, **kwargs)
    servers.append(self)
fork_client.ForkClient.__init__ = recording
code = cli.main(['--root', {str(REPO)!r}, 'grade', 'lec27_attention', {str(tmp_path / 'empty')!r},
                 '--out', {str(tmp_path / 'out')!r}])
print(code, len(servers), [server._process for server in servers])
"""
    assert run_python(code).splitlines()[-1] == "2 1 [None]"  # one was started, and stopped

"""A CI matrix splits a batch with --shard K/N and joins it with `merge` into the same gradebook."""
import subprocess
import sys

import pytest
import yaml
from conftest import REPO

SAMPLES = REPO / "samples" / "lec27_attention"


def autograder(*args):
    return subprocess.run([sys.executable, "-m", "autograder", "--root", str(REPO), *map(str, args)],
                          capture_output=True, text=True, timeout=600)


def test_shards_merge_into_the_unsharded_gradebook(sample_batch, tmp_path):
    whole = sample_batch("lec27_attention")  # the samples unsharded, with two more files
    samples = {path.name for path in SAMPLES.iterdir()}
    for k in (1, 2, 3):
        assert autograder("grade", "lec27_attention", SAMPLES, "--out", tmp_path / f"s{k}", "--shard", f"{k}/3").returncode == 0
    shard_rows = [len((tmp_path / f"s{k}" / "grades.csv").read_text().splitlines()) - 1 for k in (1, 2, 3)]
    assert shard_rows == [3, 3, 3]
    merged = autograder("merge", tmp_path / "s1", tmp_path / "s2", tmp_path / "s3", "--out", tmp_path / "merged")
    assert merged.returncode == 0, merged.stderr
    lines = lambda path: sorted((path / "grades.csv").read_text().splitlines())  # noqa: E731
    unsharded = [line for line in lines(whole.out) if line.startswith("submission,") or line.split(",")[0] in samples]
    assert len(unsharded) == len(samples) + 1
    assert lines(tmp_path / "merged") == unsharded
    assert (tmp_path / "merged" / "correct" / "results.json").is_file()


@pytest.mark.parametrize("shard", ["0/2", "3/2", "x/2", "1-2"])
def test_a_bad_shard_is_a_clear_error_before_anything_starts(shard, tmp_path, monkeypatch, capsys):
    """A typo in a CI matrix is refused at once: no fork server is started and torch is not loaded for it."""
    from autograder import cli

    def started(*args):
        raise AssertionError("the fork server was started for a --shard that is refused")

    monkeypatch.setattr(cli, "_start_fork_server", started)
    code = cli.main(["--root", str(REPO), "grade", "lec27_attention", str(SAMPLES), "--out", str(tmp_path), "--shard", shard])
    assert code == 2 and capsys.readouterr().err.startswith("error: --shard:")


def test_merging_a_folder_without_a_gradebook_names_it(tmp_path):
    (tmp_path / "half").mkdir()
    result = autograder("merge", tmp_path / "half", "--out", tmp_path / "out")
    assert result.returncode == 2 and "half/grades.csv: missing" in result.stderr


@pytest.mark.parametrize("name", ["grade-submissions.yml", "student-check.yml"])
def test_ci_workflows_are_valid_and_use_existing_commands(name):
    workflow = yaml.safe_load((REPO / "ci" / "github" / name).read_text())
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    commands = "\n".join(step.get("run", "") for step in steps)
    assert "autograder" in commands
    for command in ("grade", "merge", "check"):
        if f"autograder {command}" in commands:
            assert autograder(command, "--help").returncode == 0
    if "--shard" in commands:
        assert "--shard" in autograder("grade", "--help").stdout

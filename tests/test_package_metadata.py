"""Package metadata that workers read from the fork server's one parse: the same answers, once."""
import importlib.metadata as metadata

import pytest
import torch

from autograder.protocol.jobs import OK
from autograder.sandboxed import package_metadata


@pytest.fixture
def read_once(monkeypatch):
    monkeypatch.setattr(metadata, "distribution", metadata.distribution)  # put back afterwards
    return package_metadata.install(["torch", "PyYAML", "no-such-package"])


def test_the_answers_are_importlibs_own(read_once):
    own = metadata.PathDistribution(metadata.Distribution.from_name("torch")._path)
    assert read_once == ["pyyaml", "torch"]
    assert metadata.version("torch") == own.version == torch.__version__
    assert dict(metadata.metadata("Torch").items()) == dict(own.metadata.items())
    assert metadata.version("pyyaml") == metadata.Distribution.from_name("PyYAML").version
    assert metadata.distribution("torch").read_text("RECORD") == own.read_text("RECORD")  # files still read


def test_names_not_read_are_left_to_importlib(read_once):
    with pytest.raises(metadata.PackageNotFoundError):
        metadata.version("no-such-package")
    assert metadata.version("nbformat") == metadata.Distribution.from_name("nbformat").version


def test_a_worker_answers_from_the_fork_servers_parse(run_cells):
    source = ("import importlib.metadata as m, torch\n"
              "print(m.version('torch') == torch.__version__, m.distribution('torch') is m.distribution('Torch'))")
    result = run_cells(source)
    assert result.cells[0].status == OK and result.cells[0].output == "True True\n"

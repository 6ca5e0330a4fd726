"""assignment.yaml: typed settings, and errors that name the file, line and key."""
import pytest

from autograder.config import AssignmentConfig, Limits, load_config
from autograder.errors import ConfigError


def write(tmp_path, text):
    path = tmp_path / "assignment.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_full_config_is_read_into_typed_values(tmp_path):
    path = write(tmp_path, "title: 어텐션\nstudent_outputs: true\nseeds: [5, 7]\nlimits:\n  cell_seconds: 5\n  memory_mb: 512\n")
    assert load_config(path) == AssignmentConfig(
        title="어텐션", student_outputs=True, seeds=(5, 7), limits=Limits(cell_seconds=5.0, memory_mb=512))


def test_defaults_fill_what_is_not_given(tmp_path):
    config = load_config(write(tmp_path, "title: t\n"))
    assert config.student_outputs is False and config.limits == Limits()


@pytest.mark.parametrize("text, line, words", [
    ("title: t\nstudent_output: true\n", 2, "unknown key 'student_output'"),
    ("title: t\nlimits:\n  cell_second: 3\n", 3, "unknown key 'limits.cell_second'"),
    ("title: t\nstudent_outputs: 3\n", 2, "'student_outputs' must be true or false"),
    ("title: t\nlimits:\n  memory_mb: lots\n", 3, "'limits.memory_mb' must be a whole number"),
    ("title: t\nlimits:\n  memory_mb: true\n", 3, "'limits.memory_mb' must be a whole number"),
    ("title: [a, b]\n", 1, "'title' must be text"),
    ("title: t\nseeds: 3\n", 2, "'seeds' must be a list"),
    ("title: t\nquestions:\n  - id: q1\n    points: 2\n", 3, "missing required key 'questions.name'"),
    ("title: t\nquestions:\n  - {id: q1, name: a, points: 1}\n  - {id: q1, name: b, points: 1}\n", 4, "used twice"),
    ("title: t\nseeds: [1, x]\n", 2, "'seeds' must be a whole number"),
    ("title: t\nlimits: 5\n", 2, "'limits' must be a mapping"),
    ("student_outputs: true\n", 1, "missing required key 'title'"),
    ("title: t\ntitle: u\n", 2, "given twice"),
    ("title: [t\n", None, "invalid YAML"),
    ("title: t\nlimits:\n  memory_mb: 512\n  probe_seconds: 0\n", 4, "limits.probe_seconds must be more than 0"),
    ("title: t\nlimits:\n  cell_seconds: 5\n  probe_seconds: 20\n", 4,
     "limits.probe_seconds (20) is more than limits.cell_seconds (5)"),
])
def test_mistakes_name_file_line_and_key(tmp_path, text, line, words):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(str(path))
    assert words in caught.value.message
    if line is not None:
        assert caught.value.location.line == line


def test_missing_or_empty_config(tmp_path):
    with pytest.raises(ConfigError, match="missing"):
        load_config(tmp_path / "assignment.yaml")
    with pytest.raises(ConfigError, match="empty"):
        load_config(write(tmp_path, "# nothing\n"))

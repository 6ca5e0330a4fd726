"""Student-facing sentences come from gettext catalogs: every marked sentence of the package has a
Korean translation with the same placeholders, the compiled catalogs match their sources, and an
assignment's `language:` decides what its students read."""
import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import autograder
from autograder.config import AssignmentConfig, load_config
from autograder.errors import ConfigError
from autograder.i18n import LANGUAGES, LOCALE, _, language
from autograder.outputs.results import feedback_markdown
from autograder.protocol.jobs import NOT_ANSWERED
from autograder.protocol.messages import CellResult
from autograder.scoring.points import GradeReport

PACKAGE = Path(autograder.__file__).parent
TRANSLATED = [code for code in LANGUAGES if code != "en"]


def marked_messages() -> set:
    """Every sentence marked in the package: a text, or (singular, plural) for ngettext."""
    return {message if isinstance(message, str) else tuple(message)[:2]
            for _file, _line, message, _comments, _context in extract_from_dir(str(PACKAGE))}


def catalog(code: str):
    with open(LOCALE / code / "LC_MESSAGES" / "autograder.po", "rb") as file:
        return read_po(file, locale=code)


def placeholders(text) -> set[str]:
    texts = [text] if isinstance(text, str) else list(text)
    return {name for one in texts for name in re.findall(r"\{(\w+)\}", one)}


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_marked_sentence_is_translated_with_the_same_placeholders(code):
    po = catalog(code)
    translated = {m.id: m.string for m in po if m.id and m.string and all(m.string) and not m.fuzzy}
    marked = marked_messages()
    assert len(marked) > 60
    missing = sorted(marked - set(translated))
    assert not missing, f"{code}: not translated (run make catalogs and translate): {missing}"
    wrong = [m for m in marked if placeholders(m) != placeholders(translated[m])]
    assert not wrong, f"{code}: placeholders differ from the English: {wrong}"
    assert not set(translated) - marked, "the catalog holds sentences the package no longer says (make catalogs)"


@pytest.mark.parametrize("code", TRANSLATED)
def test_the_compiled_catalog_is_the_source_catalog(code):
    compiled = gettext.translation("autograder", localedir=str(LOCALE), languages=[code])
    for message in catalog(code):
        if isinstance(message.id, tuple):
            assert compiled.ngettext(*message.id, 2) == message.string[0], f"{code}: .mo is stale; run make catalogs"
        elif message.id:
            assert compiled.gettext(message.id) == message.string, f"{code}: .mo is stale; run make catalogs"


def test_language_is_chosen_per_block_and_english_is_the_default():
    text = "not answered yet (`### your code` is still there)"
    assert _(text) == text
    with language("ko"):
        assert _(text) == "아직 답하지 않았습니다 (`### your code`가 그대로 있습니다)"
    assert _(text) == text


def test_an_unknown_language_names_the_file_and_line(tmp_path):
    config = tmp_path / "assignment.yaml"
    config.write_text('title: "T"\nlanguage: xx\n', encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(config)
    assert str(error.value) == f"{config}: line 2: language 'xx' has no message catalog (known: en, ko)"


def test_the_shipped_assignments_speak_korean():
    root = PACKAGE.parent / "assignments"
    assert {load_config(path).language for path in root.glob("*/assignment.yaml")} == {"ko"}


def test_feedback_is_written_in_the_assignments_language():
    cell = CellResult(0, "c1", NOT_ANSWERED, label="cell `x = ### your code`", source="x = ### your code")
    report = GradeReport("n.ipynb", "n", (), (cell,))
    korean = feedback_markdown(report, AssignmentConfig(title="T", language="ko")).decode()
    english = feedback_markdown(report, AssignmentConfig(title="T")).decode()
    assert "**점수: 0 / 0**" in korean and "## 노트북을 실행하는 동안" in korean
    assert "- cell `x = ### your code`: 아직 답하지 않았습니다" in korean
    assert "**Score: 0 / 0**" in english and "not answered yet" in english


def run_catalogs(folder: Path) -> subprocess.CompletedProcess:
    """`make catalogs` as a translator runs it, on a copy of the package (the venv's Babel)."""
    return subprocess.run(["make", "-o", "setup", "catalogs", f"BIN={Path(sys.executable).parent}"], cwd=folder,
                          capture_output=True, text=True, timeout=300)


def test_make_catalogs_keeps_a_fresh_catalog_as_it_is_and_merges_a_new_sentence(tmp_path):
    shutil.copy(PACKAGE.parent / "Makefile", tmp_path)
    shutil.copy(PACKAGE.parent / "pyproject.toml", tmp_path)
    shutil.copytree(PACKAGE, tmp_path / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    files = ["autograder.pot", "ko/LC_MESSAGES/autograder.po", "ko/LC_MESSAGES/autograder.mo"]
    done = run_catalogs(tmp_path)
    assert done.returncode == 0, done.stderr
    copy = tmp_path / "autograder" / "locale"
    changed = [name for name in files if (copy / name).read_bytes() != (LOCALE / name).read_bytes()]
    assert not changed, f"make catalogs changed an up-to-date catalog: {changed}"

    (tmp_path / "autograder" / "new_words.py").write_text(
        'from .i18n import _\n\n\ndef said():\n    return _("a sentence nobody has translated yet")\n')
    done = run_catalogs(tmp_path)
    assert done.returncode == 0, done.stderr
    merged = read_po((copy / "ko/LC_MESSAGES/autograder.po").open("rb"), locale="ko")
    assert not merged.fuzzy, "the merged catalog lost its header, so pybabel compile skips it"
    assert merged["a sentence nobody has translated yet"].string == ""
    assert "compiling catalog" in done.stdout + done.stderr, "pybabel compile skipped the merged catalog"

"""A degenerate corpus for every assignment: the solution with its functions and classes made to
return zeros, a constant, NaN, infinity, their input, or the same output whatever the input.

Each kind is graded in one batch with the solution and with the same notebook where those functions
and classes are stubs (calling one raises NotImplementedError): no question may score more for
degenerate code than for code not written yet.
"""
import pytest
from claims_kit import (
    CALLABLES,
    DEGENERATE,
    KINDS,
    automatic_points,
    degenerate_sources,
    filled,
    grade,
    other_style_sources,
    question_scores,
    with_first_cell,
)


@pytest.fixture(scope="module", params=sorted(CALLABLES))
def graded(request, tmp_path_factory):
    slug = request.param
    notebooks = {"correct": filled(slug), "other_style": filled(slug, other_style_sources(slug))}
    for kind in (*KINDS, "unwritten"):
        notebooks[kind] = with_first_cell(filled(slug, degenerate_sources(slug, kind)), DEGENERATE)
    return slug, grade(slug, notebooks, tmp_path_factory.mktemp(slug))


@pytest.mark.parametrize("kind", KINDS)
def test_degenerate_code_scores_no_more_than_no_code(graded, kind):
    slug, rows = graded
    got, unwritten = question_scores(rows[kind]), question_scores(rows["unwritten"])
    more = {q: (got[q], unwritten[q]) for q in got if got[q] > unwritten[q]}
    assert not more, f"{slug}, {kind}: questions scoring more than with stubs: {more}"


def test_correct_work_keeps_full_marks_in_the_same_batch_in_any_style(graded):
    slug, rows = graded
    assert float(rows["correct"]["score"]) == automatic_points(slug) > 0
    assert float(rows["other_style"]["score"]) == automatic_points(slug)

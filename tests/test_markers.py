"""Each marker form of the source syntax, and each marker mistake, on one code cell."""
import pytest

from autograder.authoring.markers import BOTH, SOLUTION_ONLY, STUDENT_ONLY, MarkerProblem, compile_code


@pytest.mark.parametrize("source, student, solution", [
    ("query = inputs[1]  # SOLUTION", "query = ### your code", "query = inputs[1]"),
    ("    res += x * q[i]  # SOLUTION", "    res += ### your code", "    res += x * q[i]"),
    ("W_key   = nn.Parameter(w)  # SOLUTION", "W_key   = ### your code", "W_key   = nn.Parameter(w)"),
    ("    return torch.exp(x) / torch.exp(x).sum()  # SOLUTION", "    return ### your code",
     "    return torch.exp(x) / torch.exp(x).sum()"),
    ("attn[i, j] = torch.dot(a, b)  # SOLUTION", "attn[i, j] = ### your code", "attn[i, j] = torch.dot(a, b)"),
    ("y: int = f(a=1)  # SOLUTION", "y: int = ### your code", "y: int = f(a=1)"),
    ("s = 'a # b'  # SOLUTION", "s = ### your code", "s = 'a # b'"),
    ("x = f(1)  # note # SOLUTION", "x = ### your code", "x = f(1)  # note"),
], ids=["assign", "augmented", "aligned", "return", "subscript", "annotated", "hash-in-string", "other-comment"])
def test_expression_after_assignment_or_return_is_hidden(source, student, solution):
    compiled = compile_code(source)
    assert (compiled.student, compiled.solution) == (student, solution)


def test_statement_without_value_is_hidden_whole_with_its_indentation():
    compiled = compile_code("        self.register_buffer('mask', m)  # SOLUTION")
    assert compiled.student == "        ### your code"
    assert compiled.solution == "        self.register_buffer('mask', m)"


def test_solution_line_hides_an_assignment_whole():
    compiled = compile_code("    b, n, d = x.shape  # SOLUTION LINE")
    assert compiled.student == "    ### your code"
    assert compiled.solution == "    b, n, d = x.shape"


def test_prompt_stays_in_front_of_the_marker():
    source = "heads = nn.ModuleList(\n    [Head() for _ in range(h)]  # SOLUTION PROMPT []\n)"
    compiled = compile_code(source)
    assert compiled.student == "heads = nn.ModuleList(\n    [] ### your code\n)"
    assert compiled.solution == "heads = nn.ModuleList(\n    [Head() for _ in range(h)]\n)"


def test_block_becomes_one_marker_at_the_block_indentation():
    source = "def f(x):\n    ### BEGIN SOLUTION\n    y = x * 2\n\n    return y\n    ### END SOLUTION\nprint(f(1))"
    compiled = compile_code(source)
    assert compiled.student == "def f(x):\n    ### your code\nprint(f(1))"
    assert compiled.solution == "def f(x):\n    y = x * 2\n\n    return y\nprint(f(1))"
    assert compiled.student.count("### your code") == 1
    # Solution line k comes from source line solution_lines[k-1]: the markers are gone.
    assert compiled.solution_lines == (1, 3, 4, 5, 7)


def test_lines_for_one_version_only():
    source = "x = None  # STUDENT ONLY\nx = 42  # SOLUTION ONLY\nprint(x)"
    compiled = compile_code(source)
    assert compiled.student == "x = None\nprint(x)"
    assert compiled.solution == "x = 42\nprint(x)"
    assert compiled.solution_lines == (2, 3)
    assert compiled.student.count("### your code") == 0


@pytest.mark.parametrize("directive, audience", [("# SOLUTION ONLY", SOLUTION_ONLY), ("# STUDENT ONLY", STUDENT_ONLY)])
def test_cell_for_one_version_only(directive, audience):
    compiled = compile_code(f"{directive}\nassert answer == 42")
    assert compiled.audience == audience
    assert compiled.solution == compiled.student == "assert answer == 42"
    assert compiled.solution_lines == (2,)


def test_cell_without_markers_is_the_same_in_both_versions():
    source = "import torch\n\ntorch.manual_seed(123)  # seed"
    compiled = compile_code(source)
    assert compiled.student == compiled.solution == source
    assert compiled.audience == BOTH and compiled.student.count("### your code") == 0


@pytest.mark.parametrize("source, line, words", [
    ("x = 1\n### BEGIN SOLUTION\ny = 2", 2, "never closed"),
    ("x = 1\n### END SOLUTION", 2, "without a '### BEGIN SOLUTION'"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION", 2, "inside the block"),
    ("a = 1\n### BEGIN SOLUTION\n\n### END SOLUTION", 2, "no code to remove"),
    ("x = 1\ny =   # SOLUTION", 2, "nothing after '='"),
    ("    # SOLUTION", 1, "no code to remove"),
    ("return  # SOLUTION", 1, "no value"),
    ("x = f(  # SOLUTION\n  1)", 1, "continues on the next line"),
    ("x = 1  # SOLUTION PROMPT", 1, "needs the text to keep"),
    ("x = 1  # SOLUTION MAYBE", 1, "unknown marker"),
    ("x = 1\nq = ### your code", 2, "student version only"),
    ("x = 1\n# SOLUTION ONLY\ny = 2", 2, "first line"),
    ("### BEGIN SOLUTION\nx = 1  # SOLUTION\n### END SOLUTION", 2, "inside the solution block"),
], ids=["unclosed", "stray-end", "nested", "empty-block", "empty-value", "comment-only", "bare-return",
        "continued", "empty-prompt", "unknown", "placeholder-in-source", "directive-midcell", "marker-in-block"])
def test_marker_mistakes_name_the_line(source, line, words):
    with pytest.raises(MarkerProblem) as caught:
        compile_code(source)
    assert caught.value.line == line
    assert words in caught.value.message

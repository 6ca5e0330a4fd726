"""Hidden tests (a pytest plugin), reference values, points: the verdict, in the grader's process only."""

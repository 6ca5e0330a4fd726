"""Instructor side, at build time: source notebook -> student and solution notebooks, the executed
solution, the visible checks handed out. Runs trusted code only (the instructor's)."""

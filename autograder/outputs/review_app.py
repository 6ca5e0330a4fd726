"""The review page: a Flask app over a graded folder where TAs give points and comments to the parts
graded by hand, one answer at a time, by submission or by question.

Every request needs a TA's token (from the printed URL, then a same-site cookie); every answer is
student text, rendered escaped (Markdown through an allow-list, no raw HTML, no remote images),
and the pages run no script at all (Content-Security-Policy).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
from pathlib import Path

import bleach
import mistune
from flask import Flask, abort, redirect, render_template, request, url_for
from markupsafe import Markup

from .hand_answers import ANSWERS
from .hand_grades import FolderQuestions, HandQuestion, folder_lock, read_questions, rewrite_folder
from .review_listing import FolderListing, Submission
from .review_store import ReviewStore

COOKIE = "autograder_review"
_MARKDOWN = mistune.create_markdown(escape=True, plugins=["table", "strikethrough"])
_TAGS = {"p", "br", "strong", "em", "code", "pre", "ul", "ol", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6",
         "table", "thead", "tbody", "tr", "th", "td", "hr", "del", "a"}
_POLICY = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; form-action 'self'; "
           "frame-ancestors 'none'; base-uri 'none'")


def create_app(folder: Path, store: ReviewStore, tokens: dict[str, str]) -> Flask:
    """The app for one graded folder; `tokens`: secret token -> the TA's name it stands for."""
    app = Flask(__name__, template_folder="templates/review")
    questions = read_questions(folder)
    listing = FolderListing(folder)  # read at each request: a batch graded again shows without a restart
    cookie = _cookie_name(tokens)

    def grader() -> str:
        token = request.cookies.get(cookie, "")
        for known, name in tokens.items():
            if _same(known, token):
                return name
        abort(403)

    @app.before_request
    def login():
        token = request.args.get("token")
        if token is not None:
            if not any(_same(known, token) for known in tokens):
                abort(403)
            args: dict = {**(request.view_args or {}), **{k: v for k, v in request.args.items() if k != "token"}}
            response = redirect(url_for(request.endpoint or "overview", **args))
            response.set_cookie(cookie, token, httponly=True, samesite="Strict")
            return response
        grader()
        return None

    @app.after_request
    def protect(response):
        response.headers["Content-Security-Policy"] = _POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(403)
    def forbidden(_):
        return render_template("message.html", title="Not allowed",
                               text="Open the review page with the URL `autograder review` printed (it holds your token)."), 403

    @app.get("/")
    def overview():
        now = listing.current()
        submissions, scores = now.submissions, store.scores()
        progress = [(q, _left(q, submissions, scores)) for q in questions.hand]
        table = [(s, [scores.get((s.stem, q.id)) for q in questions.hand]) for s in submissions]
        return render_template("overview.html", title=questions.title, questions=questions.hand, progress=progress,
                               table=table, count=len(submissions), grader=grader(), unreadable=now.unreadable)

    @app.get("/grade/<stem>/<question_id>")
    def grade(stem: str, question_id: str):
        submissions = listing.current().submissions
        submission, question = _find(submissions, questions, stem, question_id)
        walk = "submission" if request.args.get("walk") == "submission" else "question"
        scores = store.scores()
        answers = _answers(folder, stem).get(question_id, {"cells": [], "hash": ""})
        return render_template(
            "grade.html", title=questions.title, submission=submission, question=question, walk=walk,
            cells=[_shown(cell) for cell in answers["cells"]], given=scores.get((stem, question_id)),
            tests=_tests(folder, stem, question_id), left=_left(question, submissions, scores),
            count=len(submissions), grader=grader(), csrf=_csrf(request.cookies.get(cookie, "")),
            answer=answers.get("hash", ""),
            error=request.args.get("error", ""), questions=questions.hand,
            position=[s.stem for s in submissions].index(stem) + 1)

    @app.post("/grade/<stem>/<question_id>")
    def save(stem: str, question_id: str):
        submissions = listing.current().submissions
        submission, question = _find(submissions, questions, stem, question_id)
        if not _same(request.form.get("csrf", ""), _csrf(request.cookies.get(cookie, ""))):
            abort(403)
        walk = "submission" if request.form.get("walk") == "submission" else "question"
        try:
            points = float(request.form.get("points", ""))
        except ValueError:
            points = math.nan
        if not 0 <= points <= question.points:  # also NaN
            return redirect(url_for("grade", stem=stem, question_id=question_id, walk=walk,
                                    error=f"Points must be a number from 0 to {question.points:g}."))
        comment = request.form.get("comment", "")
        answer = _answers(folder, stem).get(question_id, {}).get("hash", "")
        if not _same(answer, request.form.get("answer", "")):  # graded again since the page was opened
            return redirect(url_for("grade", stem=stem, question_id=question_id, walk=walk,
                                    error="The answer changed since this page was opened (it was graded again); "
                                          "nothing was saved. Here it is as it is now."))
        store.give(stem, question_id, points, comment, grader(), answer)
        with folder_lock(folder):
            rewrite_folder(folder, store, [stem])
        following = _next(submission, question, walk, submissions, questions, store.scores())
        if following is None:
            return redirect(url_for("overview"))
        return redirect(url_for("grade", stem=following[0], question_id=following[1], walk=walk))

    @app.get("/question/<question_id>")
    def by_question(question_id: str):
        question = questions.find(question_id) or abort(404)
        scores = store.scores()
        first = next((s for s in listing.current().submissions if _open(scores.get((s.stem, question.id)))), None)
        if first is None:
            return redirect(url_for("overview"))
        return redirect(url_for("grade", stem=first.stem, question_id=question.id, walk="question"))

    @app.get("/submission/<stem>")
    def by_submission(stem: str):
        if listing.current().find(stem) is None or not questions.hand:
            abort(404)
        scores = store.scores()
        first = next((q for q in questions.hand if _open(scores.get((stem, q.id)))), questions.hand[0])
        return redirect(url_for("grade", stem=stem, question_id=first.id, walk="submission"))

    return app


def _cookie_name(tokens: dict[str, str]) -> str:
    """A name of this server's own: a browser keeps one cookie per name and host whatever the port, so two
    review pages on one host (two folders, two ports) would otherwise sign each other's TAs out. Made from
    a hash of the server's tokens, which are new at every start."""
    return f"{COOKIE}_{hashlib.sha256(chr(0).join(sorted(tokens)).encode()).hexdigest()[:16]}"


def _same(expected: str, given: str) -> bool:
    """A constant-time comparison that also takes text which is not ASCII (any cookie a browser sends)."""
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def _csrf(token: str) -> str:
    return hmac.new(token.encode(), b"review form", "sha256").hexdigest()


def _find(submissions: list[Submission], questions: FolderQuestions, stem: str, question_id: str):
    question = questions.find(question_id)
    submission = next((s for s in submissions if s.stem == stem), None)
    if submission is None or question is None:
        abort(404)
    return submission, question


def _open(score) -> bool:
    """Still to grade: no points yet, or the answer changed since."""
    return score is None or score.flagged


def _left(question: HandQuestion, submissions: list[Submission], scores: dict) -> int:
    return sum(_open(scores.get((s.stem, question.id))) for s in submissions)


def _next(submission: Submission, question: HandQuestion, walk: str, submissions: list[Submission],
          questions: FolderQuestions, scores: dict) -> tuple[str, str] | None:
    """Where a TA goes after saving: the next open answer along the walk they chose."""
    if walk == "submission":
        later = [q for q in questions.hand if _open(scores.get((submission.stem, q.id)))]
        return (submission.stem, later[0].id) if later else None
    stems = [s.stem for s in submissions]
    start = stems.index(submission.stem)
    for stem in stems[start + 1:] + stems[:start]:
        if _open(scores.get((stem, question.id))):
            return stem, question.id
    return None


def _answers(folder: Path, stem: str) -> dict:
    try:
        data = json.loads((folder / stem / ANSWERS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _tests(folder: Path, stem: str, question_id: str) -> list[dict]:
    """The automatic tests of this question for this submission, as results.json has them."""
    try:
        results = json.loads((folder / stem / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [t for t in results.get("tests", []) if t.get("number") == question_id
            and not str(t.get("name", "")).endswith(": graded by hand")]


def _shown(cell: dict) -> dict:
    """An answer cell ready for the template: Markdown rendered through the allow-list."""
    shown = dict(cell)
    if cell.get("type") == "markdown":
        html = _MARKDOWN(str(cell.get("source", "")))
        shown["html"] = Markup(bleach.clean(str(html), tags=_TAGS, attributes={"a": ["href"]},
                                            protocols={"http", "https"}, strip=True))
    return shown


"""The review page's handlers, called as WSGI without a browser or a socket.

A tiny class is graded once with the real command (answers in words only:
no model, so no TensorFlow); each test reviews its own copy of the output
folder and writes its own manual_scores.csv.
"""
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

import nbformat
import pytest

from grader import rubric as rubrics
from grader.batch import BatchError, read_manual_scores
from grader.review import ReviewApp, Record
from grader.result import load_result

pytestmark = pytest.mark.kernel

md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
RUBRIC = """
[assignment]
name = "tiny-review"
reference = "reference.ipynb"
[limits]
cell_timeout = 120
notebook_timeout = 300
[[questions]]
id = "Q1"
  [[questions.checks]]
  kind = "numeric_answer"
  points = 1
  expected = 127
[[questions]]
id = "Q5"
title = { es = "Red simple con 30 bits", en = "Simple network with 30 bits" }
  [[questions.checks]]
  kind = "free_text"
  points = 2
  keywords.gradiente = ["gradient", "gradiente"]
  keywords.memoria = ["memoria", "memory"]
[[questions]]
id = "Q6"
  [[questions.checks]]
  kind = "free_text"
  points = 1
  keywords.celda = ["celda", "cell"]
"""
# a model with a Lambda layer: measured, then held for review (the browser test's class)
HELD_MODEL = """
[models.adder]
input = ["any", "any", 2]
output = ["any", "any", 1]
layers_any = ["SimpleRNN"]
[[questions]]
id = "Q7"
  [[questions.checks]]
  kind = "model_structure"
  points = 2
  model = "adder"
  output_activation = "sigmoid"
  partial_activations.relu = { fraction = 0.5, en = "relu output: not a probability." }
"""
LAMBDA_MODEL = """import keras
from keras import layers
model = keras.Sequential([keras.Input((None, 2)), layers.SimpleRNN(4, return_sequences=True),
                          layers.Lambda(lambda x: 2 * x), layers.Dense(1, activation='relu')])"""
ANSWERS = {  # submission -> Q1, Q5, Q6
    "ana_lopez": ("127", "El gradiente se desvanece con 31 pasos.", "La celda con memoria lo resuelve."),
    "bea_ruiz": ("128", "No aprende porque la red es pequeña <script>alert('x')</script>.", "Mejora un poco."),
    "carla_diaz": ("127", "La memoria de la red simple es corta.", "Las puertas de la celda guardan el acarreo."),
}


def notebook(path: Path, q1: str, q5: str, q6: str, model: str = "") -> None:
    cells = [md("**Q1** ¿El mayor número de 7 bits?"), md(q1), code("x = 2 ** 7 - 1"),
             md("**Q5** ¿Por qué no aprende con 30 bits?"), md(q5), md("**Q6** ¿Y con memoria?"), md(q6)]
    if model:
        cells += [md("**Q7** Mi modelo"), code(model)]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)


def environment(root: Path) -> dict:
    extra = {"PYTHONPATH": os.environ["PYTHONPATH"]} if os.environ.get("PYTHONPATH") else {}
    return {"XDG_CACHE_HOME": str(root / "cache"), "PATH": "/usr/bin:/bin", **extra}


def grade_class(root: Path, held_model: bool = False) -> subprocess.CompletedProcess:
    """Grade ANSWERS (and, with ``held_model``, dora, whose only work is a model with a Lambda layer) into root/out."""
    (root / "rubric.toml").write_text(RUBRIC + (HELD_MODEL if held_model else ""))
    notebook(root / "reference.ipynb", "127", "Los gradientes se desvanecen.", "La celda recuerda.")
    submissions = root / "submissions"
    submissions.mkdir(exist_ok=True)
    for sid, answers in ANSWERS.items():
        notebook(submissions / f"{sid}.ipynb", *answers)
    if held_model:
        notebook(submissions / "dora.ipynb", "127", "", "", LAMBDA_MODEL)
    done = subprocess.run([sys.executable, "-m", "grader", "grade", str(submissions), "--assignment",
                           str(root / "rubric.toml"), "--out", str(root / "out"), "--lang", "en", "--seed", "5"],
                          capture_output=True, text=True, env=environment(root), timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("review-class")
    grade_class(root)
    return root


@pytest.fixture
def app(graded, tmp_path) -> ReviewApp:
    """A review server's application on a copy of the graded class, with a manual_scores.csv of its own."""
    shutil.copytree(graded / "out", tmp_path / "out")
    return ReviewApp(Record.load(tmp_path / "out", tmp_path / "manual_scores.csv"), reviewer="prof")


def call(app: ReviewApp, method: str, path: str, form: dict | None = None, cookie: str = "") -> tuple:
    """(status, headers, body) of one request, as the WSGI server would make it."""
    environ = {}
    setup_testing_defaults(environ)
    path, _, query = path.partition("?")
    body = urlencode(form or {}).encode()
    environ.update(REQUEST_METHOD=method, PATH_INFO=path, QUERY_STRING=query, CONTENT_LENGTH=str(len(body)),
                   HTTP_COOKIE=cookie, **{"wsgi.input": io.BytesIO(body)})
    answer = {}
    chunks = app(environ, lambda status, headers: answer.update(status=int(status.split()[0]), headers=headers))
    return answer["status"], dict(answer["headers"]), b"".join(chunks).decode()


def sid_of(app: ReviewApp, question: str, sid: str):
    return next(item for item in app.queues()[(question, "text")] if item.sid == sid)


def opened(app: ReviewApp, question: str, sid: str) -> dict:
    """The review form of ``sid``'s answer to ``question``, as a browser would post it back."""
    item = sid_of(app, question, sid)
    status, _, body = call(app, "GET", app.link(item, False))
    assert status == 200, body
    version = re.search(r'name="version" value="([^"]*)"', body).group(1)
    return {"question": question, "part": "text", "alias": item.alias, "version": version, "reviewer": "prof"}


def csv_rows(app: ReviewApp) -> list[dict]:
    with app.record.manual_scores.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_address_needs_this_server_s_token(app):
    assert call(app, "GET", app.url)[0] == 200
    for path in ("/", "/review.js", f"/{app.token[:-1]}/", f"/{app.token}x/", f"/x/{app.token}/"):
        status, _, body = call(app, "GET", path)
        assert status == 403 and "needs the token" in body, path
    form = {**opened(app, "Q5", "ana_lopez"), "points": "2"}
    assert call(app, "POST", "/nottoken/save", form)[0] == 403
    assert not app.record.manual_scores.exists()            # refused before anything was written
    restarted = ReviewApp(app.record)
    assert restarted.token != app.token and call(restarted, "GET", app.url)[0] == 403
    headers = call(app, "GET", app.url)[1]
    assert headers["Cache-Control"] == "no-store" and "script-src 'self'" in headers["Content-Security-Policy"]


def test_one_question_across_the_class_with_aliases_instead_of_names(app):
    status, _, home = call(app, "GET", app.url)
    assert status == 200 and "Simple network with 30 bits" in home and home.count("0 / 3") == 2  # Q5 and Q6
    assert not any(sid in home for sid in ANSWERS)
    named = [call(app, "GET", app.link(sid_of(app, "Q5", sid), names=True))[2] for sid in ANSWERS]
    assert all(f"<strong>{sid}</strong>" in page for sid, page in zip(ANSWERS, named))  # shown when asked
    page = call(app, "GET", re.search(r'class="start" href="([^"]+)"', home).group(1))[2]
    seen = []
    for at in range(1, 4):  # Next walks through every student once
        assert f"Student {at} of 3" in page and 'max="2"' in page and not any(sid in page for sid in ANSWERS)
        seen.append(next(sid for sid, answers in ANSWERS.items() if answers[1].split("<")[0] in page))
        following = re.search(r'id="next" href="([^"]+)"', page)
        if at < 3:
            page = call(app, "GET", following.group(1))[2]
    assert following is None and sorted(seen) == sorted(ANSWERS)
    bea = call(app, "GET", app.link(sid_of(app, "Q5", "bea_ruiz"), False))[2]
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in bea and "<script>alert" not in bea
    assert "✗ gradiente" in bea and "Submitted answer" in bea
    again = ReviewApp(Record.load(app.record.out, app.record.manual_scores))
    assert again.alias == app.alias and again.order == app.order  # the same aliases and order after a restart


def test_a_save_writes_the_row_and_re_scores_the_submission_from_its_saved_results(app):
    out = app.record.out
    executed = (out / "carla_diaz" / "execution.json").stat().st_mtime_ns
    index = (out / "index.html").read_text()
    form = {**opened(app, "Q5", "carla_diaz"), "points": "1.5", "comment": "Memoria corta:\r\nbien, pero\tbreve."}
    status, headers, _ = call(app, "POST", app.url + "save", form)
    assert status == 303, _
    items = app.queues()[("Q5", "text")]
    after = items.index(sid_of(app, "Q5", "carla_diaz")) + 1
    assert headers["Location"] == (app.link(items[after], False, saved=form["alias"]) if after < 3
                                   else app.link(None, False, saved=form["alias"]))
    assert headers["Set-Cookie"].startswith("grader_reviewer=prof;")
    assert csv_rows(app) == [{"submission": "carla_diaz", "question": "Q5", "part": "text", "points": "1.5",
                              "comment": "Memoria corta: bien, pero breve.", "reviewer": "prof"}]
    rubric = app.rubric
    assert read_manual_scores(app.record.manual_scores, rubric) == {
        "carla_diaz": {"Q5": {"text": {"points": 1.5, "comment": "Memoria corta: bien, pero breve."}}}}
    result = load_result(out / "carla_diaz" / "result.json")
    q5 = next(check for check in result.checks if check.id == "Q5")
    assert (q5.score, q5.status, result.score) == (1.5, "partial", 2.5)
    assert q5.details[0]["feedback"] == "Reviewed by the instructor: Memoria corta: bien, pero breve."
    assert "Memoria corta: bien, pero breve." in (out / "carla_diaz" / "report.html").read_text()
    gradebook = {row["submission"]: row for row in csv.DictReader((out / "gradebook.csv").open())}
    assert (gradebook["carla_diaz"]["Q5"], gradebook["carla_diaz"]["score"]) == ("1.5", "2.5")
    assert gradebook["ana_lopez"]["Q5"] == "0" and (out / "index.html").read_text() != index
    assert (out / "carla_diaz" / "execution.json").stat().st_mtime_ns == executed   # the notebook did not run
    landed = call(app, "GET", headers["Location"])[2]
    assert f"Saved and re-scored: {form['alias']} · Submission&#39;s score 2.5 / 4" in landed


def test_a_save_re_scores_with_the_jobs_of_the_last_grader_grade_even_one_run_after_the_server_started(app):
    record = app.record.out / ".grader" / "review.json"
    recorded = json.loads(record.read_text())
    recorded["jobs"]["bea_ruiz"]["seed"] = 99   # as `grader grade --seed 99` would record it
    record.write_text(json.dumps(recorded))
    assert call(app, "POST", app.url + "save", {**opened(app, "Q5", "bea_ruiz"), "points": "1"})[0] == 303
    assert load_result(app.record.out / "bea_ruiz" / "result.json").seed == 99


@pytest.mark.parametrize("points", ["2.5", "-1", "abc", "nan", "inf", "", "1e400"])
def test_points_outside_the_part_s_bounds_are_refused(app, points):
    form = {**opened(app, "Q5", "ana_lopez"), "points": points, "comment": "Kept in the box."}
    status, _, body = call(app, "POST", app.url + "save", form)
    assert status == 400 and "Not saved" in body and "Kept in the box." in body
    assert not app.record.manual_scores.exists()


def test_points_are_read_with_a_decimal_comma_and_bounded_by_the_question_s_own_part(app):
    assert call(app, "POST", app.url + "save", {**opened(app, "Q5", "ana_lopez"), "points": "1,5"})[0] == 303
    assert call(app, "POST", app.url + "save", {**opened(app, "Q6", "ana_lopez"), "points": "1.5"})[0] == 400
    assert [(row["question"], row["points"]) for row in csv_rows(app)] == [("Q5", "1.5")]


def test_a_save_on_a_row_changed_since_it_was_read_is_refused(app):
    first = {**opened(app, "Q5", "bea_ruiz"), "reviewer": "Marta"}
    second = {**opened(app, "Q5", "bea_ruiz"), "reviewer": "Luis"}   # read before Marta saves
    assert call(app, "POST", app.url + "save", {**first, "points": "2", "comment": "Good."})[0] == 303
    status, _, body = call(app, "POST", app.url + "save", {**second, "points": "0.5", "comment": "Weak."})
    assert status == 409 and "another reviewer changed this row" in body and "2 «Good.» (by Marta)" in body
    assert "Weak." in body and 'value="0.5"' in body      # what Luis typed is still in the boxes
    assert [(row["points"], row["reviewer"]) for row in csv_rows(app)] == [("2", "Marta")]
    fresh = re.search(r'name="version" value="([^"]*)"', body).group(1)  # the page now carries the new version
    assert call(app, "POST", app.url + "save", {**second, "version": fresh, "points": "0.5"})[0] == 303
    assert [(row["points"], row["reviewer"]) for row in csv_rows(app)] == [("0.5", "Luis")]
    stale = {**first, "action": "clear"}
    assert call(app, "POST", app.url + "save", stale)[0] == 409 and len(csv_rows(app)) == 1


def test_a_save_is_written_whole_or_not_at_all_and_keeps_the_instructor_s_rows(app, monkeypatch):
    csv_file = app.record.manual_scores
    csv_file.write_text("submission,question,points,comment,note\nbea_ruiz,Q6,1,Bien,checked twice\n",
                        encoding="utf-8")
    before = csv_file.read_bytes()
    form = {**opened(app, "Q5", "ana_lopez"), "points": "2", "comment": "Clear."}

    def full_disk(*args):
        raise OSError(28, "No space left on device")
    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", full_disk)  # the disk fills while the new rows are written
        status, _, body = call(app, "POST", app.url + "save", form)
    assert status == 500 and "Not saved: could not write" in body and "No space left on device" in body
    assert csv_file.read_bytes() == before and sorted(os.listdir(csv_file.parent)) == ["manual_scores.csv", "out"]
    assert call(app, "POST", app.url + "save", form)[0] == 303
    assert csv_file.read_text(encoding="utf-8").splitlines() == [
        "submission,question,points,comment,note,part,reviewer", "bea_ruiz,Q6,1,Bien,checked twice,,",
        "ana_lopez,Q5,2,Clear.,,text,prof"]


def test_a_flag_is_kept_across_restarts(app):
    item = sid_of(app, "Q6", "bea_ruiz")
    form = {"question": "Q6", "part": "text", "alias": item.alias, "flagged": "1"}
    status, headers, _ = call(app, "POST", app.url + "flag", form)
    assert status == 303 and headers["Location"] == app.link(item, False)
    restarted = ReviewApp(Record.load(app.record.out, app.record.manual_scores))
    page = call(restarted, "GET", restarted.link(item, False))[2]
    assert 'id="flagged"' in page and "Remove the flag" in page
    home = call(restarted, "GET", restarted.url)[2]
    assert "Flagged for another look</h2>" in home and item.alias in home.split("</h2>")[1]
    call(restarted, "POST", restarted.url + "flag", {**form, "flagged": "0"})
    assert 'id="flagged"' not in call(restarted, "GET", restarted.link(item, False))[2]


def test_comments_already_given_are_offered_again_most_used_first(app):
    for sid, comment in (("ana_lopez", "Falta el gradiente."), ("bea_ruiz", "Bien."), ("carla_diaz", "Bien.")):
        form = {**opened(app, "Q5", sid), "points": "1", "comment": comment}
        assert call(app, "POST", app.url + "save", form)[0] == 303
    page = call(app, "GET", app.link(sid_of(app, "Q5", "ana_lopez"), False))[2]
    offered = re.findall(r'data-comment="(\d)" data-text="([^"]*)"', page)
    assert offered == [("1", "Bien."), ("2", "Falta el gradiente.")]
    assert "data-comment" not in call(app, "GET", app.link(sid_of(app, "Q6", "ana_lopez"), False))[2]


def test_clearing_a_review_puts_the_answer_back_in_the_queue(app):
    form = opened(app, "Q5", "ana_lopez")
    call(app, "POST", app.url + "save", {**form, "points": "2"})
    cleared = {**opened(app, "Q5", "ana_lopez"), "action": "clear"}
    assert call(app, "POST", app.url + "save", cleared)[0] == 303 and csv_rows(app) == []
    q5 = next(c for c in load_result(app.record.out / "ana_lopez" / "result.json").checks if c.id == "Q5")
    assert (q5.score, q5.status) == (0, "manual") and "ana_lopez" in [i.sid for i in app.queues()[("Q5", "text")]]


@pytest.mark.parametrize("saved, what", [("execution.json", '"key": "'), ("measurements.json", '"version": "')])
def test_a_submission_that_would_have_to_run_or_be_measured_again_keeps_its_points_and_says_why(app, saved, what):
    path = app.record.out / "ana_lopez" / saved
    path.write_text(path.read_text().replace(what, what + "older"))  # as when the grader changed since
    status, _, body = call(app, "POST", app.url + "save", {**opened(app, "Q5", "ana_lopez"), "points": "2"})
    assert status == 500 and "the score could not be recalculated" in body and "run `grader grade`" in body
    assert [row["points"] for row in csv_rows(app)] == ["2"]


def test_wrong_pages_methods_and_forms_are_refused(app):
    assert call(app, "GET", app.url + "save")[0] == 405
    assert call(app, "POST", app.url + "review.js")[0] == 405
    assert call(app, "GET", app.url + "elsewhere")[0] == 404
    assert call(app, "GET", app.url + "review/Q5/text/000000")[0] == 404
    automatic = app.url + "review/Q1/text/" + app.alias[app.order[0]]
    assert call(app, "GET", automatic)[0] == 404   # Q1 is scored without a person
    assert call(app, "POST", app.url + "save", {"comment": "x" * 70_000})[0] == 413


def test_review_without_a_graded_class_says_what_to_do(tmp_path):
    with pytest.raises(BatchError, match="no record of a `grader grade` run here"):
        Record.load(tmp_path)
    done = subprocess.run([sys.executable, "-m", "grader", "review", str(tmp_path)], capture_output=True, text=True,
                          env=environment(tmp_path), timeout=60)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "grade the class into it first" in done.stderr

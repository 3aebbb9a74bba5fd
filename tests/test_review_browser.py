"""The review page in headless Chromium, with the real ``grader review`` server: the keyboard alone scores a
question for three students, the server is killed (SIGKILL) half way and started again, and nothing is lost."""
import csv
import json
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from urllib.parse import urljoin
from pathlib import Path

import pytest

from .test_report_browser import browser  # noqa: F401 (the fixture: Chromium as this machine needs it)
from .test_review_page import ANSWERS, environment, grade_class

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.kernel]


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("review-browser")
    grade_class(root, held_model=True)
    return root


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """``grader review`` in a process of its own; ``-X importtime`` tells what it imported."""

    def __init__(self, root: Path, port: int):
        self.log = (root / f"review-{port}.log").open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-X", "importtime", "-m", "grader", "review", str(root / "out"), "--port", str(port),
             "--reviewer", "prof", "--lang", "en"], stdout=subprocess.PIPE, stderr=self.log, text=True,
            env=environment(root))
        line = self.process.stdout.readline()
        assert line.startswith("Review page: http://127.0.0.1:"), line
        self.url = line.split(": ", 1)[1].strip()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.log.close()


def status_of(url: str) -> int:
    try:
        return urllib.request.urlopen(url, timeout=10).status
    except urllib.error.HTTPError as error:
        return error.code


def keys(page, *pressed: str, navigates: bool = False) -> None:
    for key in pressed[:-1]:
        page.keyboard.press(key)
    if navigates:
        with page.expect_navigation():
            page.keyboard.press(pressed[-1])
    else:
        page.keyboard.press(pressed[-1])


def whose(page) -> str:
    """The submission whose answer the page shows (the page itself only shows an alias)."""
    answer = page.inner_text("blockquote")
    return next(sid for sid, answers in ANSWERS.items() if answers[1].split("<")[0].strip() in answer)


def gradebook(root: Path) -> dict:
    return {row["submission"]: row for row in csv.DictReader((root / "out" / "gradebook.csv").open())}


def test_the_keyboard_scores_a_question_for_three_students_through_a_killed_server(graded, browser):
    executed = {sid: (graded / "out" / sid / "execution.json").stat().st_mtime_ns for sid in ANSWERS}
    port = free_port()
    first = Server(graded, port)
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(first.url)
    keys(page, "Enter", navigates=True)  # the first question with answers left to score: Q5
    assert "Student 1 of 3" in page.inner_text("#who") and page.evaluate("document.activeElement.id") == "points"
    scored = [whose(page)]
    page.keyboard.type("2")
    page.keyboard.press("Tab")
    page.keyboard.type("Explica el gradiente que se desvanece.")
    keys(page, "Control+Enter", navigates=True)
    assert "Student 2 of 3" in page.inner_text("#who") and "Saved and re-scored" in page.inner_text("#saved")
    scored.append(whose(page))
    page.keyboard.type("1")
    keys(page, "Enter", navigates=True)
    keys(page, "Escape", "k", navigates=True)   # back to the second student, to flag it
    assert "Student 2 of 3" in page.inner_text("#who")
    keys(page, "Escape", "f", navigates=True)
    assert page.is_visible("#flagged")

    first.kill()
    rows = list(csv.DictReader((graded / "submissions" / "manual_scores.csv").open()))
    assert [(r["submission"], r["question"], r["part"], r["points"], r["reviewer"]) for r in rows] == [
        (scored[0], "Q5", "text", "2", "prof"), (scored[1], "Q5", "text", "1", "prof")]

    second = Server(graded, port)
    assert second.url != first.url and status_of(first.url) == 403   # the old token opens nothing
    page.goto(second.url)
    assert "2 / 3" in page.inner_text("table") and "Flagged for another look" in page.inner_text("body")
    keys(page, "Enter", navigates=True)   # Q5 again, at the one student left
    assert "Student 3 of 3" in page.inner_text("#who") and "Not reviewed yet." in page.inner_text("#current")
    scored.append(whose(page))
    assert sorted(scored) == sorted(ANSWERS)
    page.keyboard.type("0.5")
    keys(page, "Escape", "1")             # the comment already used
    assert page.evaluate("document.activeElement.id") == "comment"
    keys(page, "Control+Enter", navigates=True)
    assert "Saved and re-scored" in page.inner_text("#saved") and "3 / 3" in page.inner_text("table")
    second.kill()
    page.close()
    assert errors == []

    rows = list(csv.DictReader((graded / "submissions" / "manual_scores.csv").open()))
    assert [(r["points"], r["comment"]) for r in rows] == [
        ("2", "Explica el gradiente que se desvanece."), ("1", ""), ("0.5", "Explica el gradiente que se desvanece.")]
    book = gradebook(graded)
    assert [book[sid]["Q5"] for sid in scored] == ["2", "1", "0.5"]
    for sid, points in zip(scored, (2, 1, 0.5)):
        result = json.loads((graded / "out" / sid / "result.json").read_text())
        assert result["score"] == float(book[sid]["score"]) == points + (ANSWERS[sid][0] == "127")
        assert (graded / "out" / sid / "execution.json").stat().st_mtime_ns == executed[sid]  # nothing ran again
    assert "Explica el gradiente que se desvanece." in (graded / "out" / scored[2] / "report.html").read_text()
    assert json.loads((graded / "out" / ".grader" / "review-flags.json").read_text()) == {scored[1]: "prof"}
    for log in graded.glob("review-*.log"):  # -X importtime: "import time: self | cumulative | module"
        imported = re.findall(r"^import time:.*\|\s*([\w.]+)$", log.read_text(), re.MULTILINE)
        assert "grader.review" in imported and not {"tensorflow", "keras", "tf_keras"} & set(imported)


def test_a_held_model_is_confirmed_on_the_page_and_the_next_grade_re_uses_every_result(graded, browser):
    server = Server(graded, free_port())
    page = browser.new_page()
    page.goto(server.url)
    page.goto(urljoin(server.url, page.get_attribute("tr:has-text('Q7') a.start", "href")))
    shown = page.inner_text("body")
    assert "Model with code of its own" in shown and "What was measured would earn 1 / 2" in shown
    assert "layers.Lambda(lambda x: 2 * x)" in shown and "dora" not in shown
    keys(page, "Escape", "a", navigates=True)
    assert "Saved and re-scored" in page.inner_text("#saved")
    server.kill()
    page.close()
    rows = list(csv.DictReader((graded / "submissions" / "manual_scores.csv").open()))
    assert ("dora", "Q7", "model", "", "prof") in [(r["submission"], r["question"], r["part"], r["points"],
                                                     r["reviewer"]) for r in rows]
    assert gradebook(graded)["dora"]["Q7"] == "1"

    again = subprocess.run([sys.executable, "-m", "grader", "grade", str(graded / "submissions"), "--assignment",
                            str(graded / "rubric.toml"), "--out", str(graded / "out"), "--lang", "en"],
                           capture_output=True, text=True, env=environment(graded), timeout=300)
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("unchanged, result re-used") == len(ANSWERS) + 1 and "evaluating" not in again.stderr
    assert gradebook(graded)["dora"]["Q7"] == "1"

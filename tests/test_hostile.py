"""Grade the hostile and broken corpus in one batch, as an instructor would run it."""
import json
import shutil
import socket
import subprocess
import sys
import threading

import pytest

from .hostile.corpus import HERE, cases, write

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("bwrap") is None,
                                                   reason="needs bubblewrap (make test installs it)")]


class Listener:
    """A loopback TCP listener that records whether anybody connected."""

    def __init__(self):
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.5)
        self.port = self.socket.getsockname()[1]
        self.connections, self.stop = 0, threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stop.is_set():
            try:
                connection, _ = self.socket.accept()
                self.connections += 1
                connection.close()
            except OSError:
                continue

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.socket.close()


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    secret = root / "secret.txt"
    secret.write_text("the exam answers")
    listener = Listener()
    corpus = cases(listener.port, secret)
    submissions = root / "submissions"
    submissions.mkdir()
    for case in corpus:
        write(case, submissions)
    (submissions / "not_a_notebook.txt").write_text("ignored: not an .ipynb")
    out = root / "out"
    command = [sys.executable, "-m", "grader", "grade", str(submissions), "--assignment", str(HERE / "rubric.toml"),
               "--out", str(out), "--lang", "en", "--workers", "2", "--cell-timeout", "10",
               "--notebook-timeout", "90", "--memory-limit", "2G"]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=1200,
                                   env={"XDG_CACHE_HOME": str(root / "cache"), "PATH": "/usr/bin:/bin"})
    finally:
        listener.close()
    return {"corpus": corpus, "out": out, "run": completed, "listener": listener}


def test_the_batch_finishes_with_a_result_for_every_notebook(batch):
    assert batch["run"].returncode == 0, batch["run"].stderr[-3000:]
    assert "Traceback" not in batch["run"].stderr
    assert len(batch["corpus"]) >= 25
    for case in batch["corpus"]:
        assert (batch["out"] / case.name / "result.json").is_file(), case.name
        assert (batch["out"] / case.name / "report.html").is_file(), case.name
    gradebook = (batch["out"] / "gradebook.csv").read_text().splitlines()
    assert len(gradebook) == len(batch["corpus"]) + 1


def test_nothing_reached_the_network(batch):
    assert batch["listener"].connections == 0


def _alternatives(expected: str) -> list[str]:
    return expected.split("|")


@pytest.mark.parametrize("name", [case.name for case in cases(0, HERE)])
def test_each_notebook_ends_as_expected(batch, name):
    case = next(c for c in batch["corpus"] if c.name == name)
    result = json.loads((batch["out"] / name / "result.json").read_text())
    cells = {cell["index"]: cell for cell in result["execution"]}
    checks = {check["id"]: check for check in result["checks"]}
    if case.score is not None:
        assert result["score"] == case.score, result["checks"]
    if case.max_total is not None:
        assert result["score"] <= case.max_total
    for index, status in case.cells_status.items():
        assert cells[index]["status"] == status, cells[index]
    for index, error in case.cell_errors.items():
        assert cells[index]["error_name"] in _alternatives(error), cells[index]
    if case.problem:
        assert any(any(text in problem for text in _alternatives(case.problem)) for problem in result["problems"]), \
            result["problems"]
    if case.check:
        question, status, text = case.check
        assert checks[question]["status"] in _alternatives(status), checks[question]
        assert text in checks[question]["feedback"]
    for path in case.host_paths_absent:
        assert not path.exists(), f"{name} wrote {path}"
    every_reason_given = [c for c in result["checks"] if c["score"] < c["max_score"] and not c["feedback"]]
    assert every_reason_given == []

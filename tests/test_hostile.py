"""Grade the hostile and broken corpus in ONE batch, as an instructor runs it.

tests/hostile/ holds the notebooks and expected.toml, what each must end as.
The batch uses the real rubric "binary-addition" and its real reference (run
once, then cached in the grader's cache, as in normal use), small limits on the
command line and two workers. A TCP listener on 127.0.0.1 must see nothing.
"""
import base64
import html
import json
import os
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
import tomllib
import zlib
from pathlib import Path

import nbformat
import pytest


def _isolated() -> bool:
    from grader.execute.sandbox import detect
    return detect("auto").isolated


# Never run this corpus without a sandbox: its notebooks really try to write into the repository.
pytestmark = [pytest.mark.slow, pytest.mark.kernel,
              pytest.mark.skipif(not _isolated(), reason="needs a sandbox: bubblewrap, or root for unshare")]

REPO = Path(__file__).resolve().parent.parent
HERE = REPO / "tests" / "hostile"
EXPECTED = tomllib.loads((HERE / "expected.toml").read_text(encoding="utf-8"))
LIMITS = ["--cell-timeout", "20", "--notebook-timeout", "90", "--memory-limit", "3G"]


class Listener:
    """A loopback TCP listener that counts connections, for a bounded time."""

    def __init__(self, seconds: float = 900):
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.5)
        self.port = self.socket.getsockname()[1]
        self.connections, self.stop_at = 0, time.monotonic() + seconds
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stop.is_set() and time.monotonic() < self.stop_at:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                continue
            self.connections += 1
            connection.close()

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.socket.close()


def grader_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "grader"


def png(width: int, height: int) -> bytes:
    """An RGB PNG of noise: incompressible, so as large as it says."""
    raw = b"".join(b"\x00" + os.urandom(width * 3) for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 0)) + chunk(b"IEND", b"")


def huge_image_notebook(path: Path) -> None:
    """16 MB of image in a markdown attachment, and 16 MB more displayed by a cell (made at run time)."""
    image = base64.b64encode(png(2300, 2300)).decode()
    answer = nbformat.v4.new_markdown_cell("127\n\n![pizarra](attachment:pizarra.png)",
                                           attachments={"pizarra.png": {"image/png": image}})
    display = nbformat.v4.new_code_cell(
        "import os, struct, zlib\nfrom IPython.display import Image, display\n\n"
        "def chunk(kind, data):\n"
        "    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))\n\n"
        "w = h = 2300\nraw = b''.join(b'\\x00' + os.urandom(w * 3) for _ in range(h))\n"
        "display(Image(data=b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0))"
        " + chunk(b'IDAT', zlib.compress(raw, 0)) + chunk(b'IEND', b'')))")
    cells = [nbformat.v4.new_markdown_cell("**Q1** ¿Cuál es el mayor número que se puede representar con 7 dígitos "
                                           "binarios?"),
             answer, nbformat.v4.new_markdown_cell("**Q4** Entrena el modelo con números de 7 bits."),
             display, nbformat.v4.new_code_cell("print('the next cell ran')")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)


def fill(text: str, values: dict) -> str:
    for key, value in values.items():
        text = text.replace(key, value)
    return text


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    submissions, out = root / "submissions", root / "out"
    submissions.mkdir()
    secret = root / "secret.txt"
    secret.write_text("the exam answers")
    listener = Listener()
    values = {"@@PORT@@": str(listener.port), "@@SECRET@@": str(secret), "@@REPO@@": str(REPO),
              "@@OUT@@": str(out), "@@SUBMISSIONS@@": str(submissions), "@@CACHE@@": str(grader_cache())}
    for notebook in HERE.glob("*.ipynb"):
        raw = notebook.read_bytes()
        if b"@@" in raw:
            raw = fill(raw.decode("utf-8"), values).encode("utf-8")
        (submissions / notebook.name).write_bytes(raw)
    huge_image_notebook(submissions / "huge_image.ipynb")
    (submissions / "notes.txt").write_text("not a notebook: ignored")
    command = [sys.executable, "-m", "grader", "grade", str(submissions), "--assignment", "binary-addition",
               "--out", str(out), "--lang", "en", "--workers", "2", *LIMITS]
    audit = root / "audit.log"  # every unpickling of cloudpickle's content in the grader's processes (hostile/audit)
    env = {**os.environ, "GRADER_AUDIT_LOG": str(audit),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE / "audit"), os.environ.get("PYTHONPATH")]))}
    started = time.monotonic()
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=1500, cwd=root, env=env)
    finally:
        listener.close()
    return {"run": run, "out": out, "listener": listener, "values": values, "audit": audit,
            "seconds": time.monotonic() - started}


def test_every_notebook_of_the_corpus_is_expected():
    on_disk = {p.stem for p in HERE.glob("*.ipynb")} | {"huge_image"}
    assert on_disk == set(EXPECTED), on_disk ^ set(EXPECTED)
    assert len(EXPECTED) - 1 >= 25  # hostile or broken, besides normal_student


def test_the_batch_finishes_with_a_result_for_every_notebook(batch):
    run = batch["run"]
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    print(f"batch of {len(EXPECTED)} notebooks: {batch['seconds']:.0f} s")
    for name in EXPECTED:
        result = json.loads((batch["out"] / name / "result.json").read_text())
        assert result["submission"] == name
        assert result["sandbox"]["level"] in ("bubblewrap", "unshare")
        assert (batch["out"] / name / "report.html").is_file(), name
    gradebook = (batch["out"] / "gradebook.csv").read_text().splitlines()
    assert len(gradebook) == len(EXPECTED) + 1


def test_nothing_reached_the_loopback_listener(batch):
    assert batch["listener"].connections == 0


def _alternatives(text: str) -> list[str]:
    return text.split("|")


def _outputs(cell) -> str:
    texts = []
    for output in cell.get("outputs", []):
        texts.append(str(output.get("text", "")) + str(output.get("evalue", "")))
        texts += [str(value) for value in (output.get("data") or {}).values()]
    return "\n".join(texts)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_notebook_ends_as_expected(batch, name):
    expected, out = EXPECTED[name], batch["out"] / name
    result = json.loads((out / "result.json").read_text())
    cells = {str(run["index"]): run for run in result["execution"]}
    checks = {check["id"]: check for check in result["checks"]}
    fill_in = lambda text: fill(text, batch["values"])  # noqa: E731

    # always: a reason for every point not earned and for every cell that did not run cleanly
    for check in result["checks"]:
        if check["score"] < check["max_score"]:
            assert check["feedback"].strip(), (name, check["id"])
    for run in result["execution"]:
        if run["status"] in ("error", "timeout", "killed"):
            assert run["error_name"] and run["error_message"], (name, run)
        if run["status"] == "skipped":
            assert run["note"], (name, run)

    if "score" in expected:
        assert result["score"] == expected["score"], [(c["id"], c["score"], c["feedback"][:200])
                                                      for c in result["checks"]]
    if "max_score" in expected:
        assert result["score"] <= expected["max_score"], [(c["id"], c["score"]) for c in result["checks"]]
    for question, status in expected.get("checks", {}).items():
        assert checks[question]["status"] in _alternatives(status), checks[question]
    for key, points in expected.get("parts", {}).items():
        question, index = key.split("#")
        assert checks[question]["details"][int(index)]["score"] == points, checks[question]["details"][int(index)]
    for key, points in expected.get("held", {}).items():
        question, index = key.split("#")
        detail = checks[question]["details"][int(index)]
        assert (detail["status"], detail["score"], detail["would_earn"]) == ("manual", 0, points), detail
    if "report" in expected:
        report = html.unescape((out / "report.html").read_text(encoding="utf-8"))
        for text in expected["report"]:
            assert fill_in(text) in report, text
    for question, text in expected.get("feedback", {}).items():
        assert text in checks[question]["feedback"], checks[question]["feedback"]
    for index, status in expected.get("cells", {}).items():
        assert cells[index]["status"] == status, cells[index]
    for index, error in expected.get("errors", {}).items():
        assert cells[index]["error_name"] in _alternatives(error), cells[index]
    for index, text in expected.get("messages", {}).items():
        assert text in cells[index]["error_message"], cells[index]
    if "problem" in expected:
        assert any(text in problem for text in _alternatives(expected["problem"]) for problem in result["problems"]), \
            result["problems"]
    saved = out / f"{name}.ipynb"
    if "output" in expected or "not_output" in expected:
        executed = nbformat.read(saved, as_version=4)
        for index, text in expected.get("output", {}).items():
            assert fill_in(text) in _outputs(executed.cells[int(index)]), _outputs(executed.cells[int(index)])[:2000]
        if "not_output" in expected:
            everything = "\n".join(_outputs(cell) for cell in executed.cells)
            assert fill_in(expected["not_output"]) not in everything
    if "saved_max_bytes" in expected:
        assert saved.stat().st_size <= expected["saved_max_bytes"]
    for path in expected.get("host_absent", []):
        assert not Path(fill_in(path)).exists(), f"{name} created {fill_in(path)}"
    if expected.get("models_plain"):
        entries = list((out / "models").rglob("*"))
        assert entries, "the models folder was copied"
        for entry in entries:
            mode = entry.lstat().st_mode
            assert stat.S_ISREG(mode) or stat.S_ISDIR(mode), entry
            assert not mode & (stat.S_ISUID | stat.S_ISGID), entry


def test_a_forged_result_is_not_the_saved_one(batch):
    result = json.loads((batch["out"] / "forged_result" / "result.json").read_text())
    assert result["score"] < 15 and len(result["checks"]) == 6 and result["fingerprint"]
    row = next(line for line in (batch["out"] / "gradebook.csv").read_text().splitlines()
               if line.startswith("forged_result,"))
    assert f",{result['score']:g}," in row or f",{result['score']}," in row, row


def test_the_grader_never_unpickles_what_the_kernel_pickled(batch):
    """Only the sandboxed predictor unpickles the models' own code: no grader process ever did (hostile/audit)."""
    lines = batch["audit"].read_text().splitlines()
    assert any(line.startswith("audited") for line in lines)  # the audit ran in the driver and the workers
    assert [line for line in lines if not line.startswith("audited")] == []

"""Grade the hostile and broken corpus in ONE batch, as an instructor runs it.

tests/hostile/ holds the notebooks and expected.toml, what each must end as.
The batch uses the real rubric "binary-addition" with a test-only reference
(tests/hostile/reference/: the same questions, trained in seconds instead of a
minute, since the batch's fresh cache runs the reference first), a fixed
seed, small limits on the command line and two workers.

Containment is read on the host, not from what the kernels printed: a TCP
listener on 127.0.0.1 that must see nothing for the whole batch; every host
path a notebook tries to write, the rubrics and the references unchanged
after the batch; no scratch folder, process or cgroup of the batch left; no
secret in any file the batch wrote.
"""
import base64
import html
import json
import os
import shutil
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import zlib
from pathlib import Path

import nbformat
import pytest

from .expect import HOOKS, assert_errors_only, grader_cgroups, grader_pids, host_state, python_path, sandbox_leftovers


def _isolated() -> bool:
    from grader.execute.sandbox import detect
    return detect("auto").isolated


# Never run this corpus without a sandbox: its notebooks really try to write into the repository.
pytestmark = [pytest.mark.slow, pytest.mark.kernel,
              pytest.mark.skipif(not _isolated(), reason="needs a sandbox: bubblewrap, or root for unshare")]

REPO = Path(__file__).resolve().parent.parent
HERE = REPO / "tests" / "hostile"
EXPECTED = tomllib.loads((HERE / "expected.toml").read_text(encoding="utf-8"))
# a cell may take 20 s to import TensorFlow while the rest of the suite runs beside the batch (pytest-xdist)
LIMITS = ["--cell-timeout", "60", "--notebook-timeout", "300", "--memory-limit", "3G"]
QUICK_REFERENCE = HERE / "reference" / "binary-addition.ipynb"
SECRET = "the exam answers"


class Listener:
    """A loopback TCP listener that counts connections until it is closed."""

    def __init__(self):
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.5)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stop.is_set():
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


def quick_rubric(folder: Path) -> Path:
    """The real rubric, word for word, but for its reference (the quick one) and its handout (by full path)."""
    lines = []
    for line in (REPO / "rubrics" / "binary-addition.toml").read_text(encoding="utf-8").splitlines():
        if line.startswith("reference = "):
            line = f"reference = {json.dumps(str(QUICK_REFERENCE))}"
        elif line.startswith("handout = "):
            line = f"handout = {json.dumps(str(REPO / 'handouts' / 'binary-addition.ipynb'))}"
        lines.append(line)
    (folder / "binary-addition.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder / "binary-addition.toml"


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


def guarded_paths(values: dict, rubric: Path) -> list[Path]:
    """Host paths the batch must leave as they were: every one a notebook tries to write, rubrics, references."""
    paths = [Path(fill(path, values)) for entry in EXPECTED.values() for path in entry.get("host_absent", [])]
    return paths + [REPO / "rubrics" / "binary-addition.toml", REPO / "reference" / "binary-addition.ipynb",
                    REPO / "handouts" / "binary-addition.ipynb", rubric, QUICK_REFERENCE]


@pytest.fixture(scope="module")
def batch(tmp_path_factory, request):
    root = tmp_path_factory.mktemp("hostile")
    submissions, out, cache = root / "submissions", root / "out", root / "cache"
    submissions.mkdir()
    # the batch's temp folder: its scratch folders, and nothing of anyone else's; short (in the system's temp
    # folder), as the kernels' sockets live there (107 bytes at most), which a folder of tmp_path under
    # pytest-xdist barely is
    temp = Path(tempfile.mkdtemp(prefix="grader-hostile-"))
    request.addfinalizer(lambda: shutil.rmtree(temp, ignore_errors=True))
    rubric = quick_rubric(root)
    secret = root / "secret.txt"
    secret.write_text(SECRET)
    listener = Listener()
    values = {"@@PORT@@": str(listener.port), "@@SECRET@@": str(secret), "@@REPO@@": str(REPO),
              "@@OUT@@": str(out), "@@SUBMISSIONS@@": str(submissions), "@@CACHE@@": str(cache / "grader"),
              "@@TMP@@": str(temp)}
    for notebook in HERE.glob("*.ipynb"):
        raw = notebook.read_bytes()
        if b"@@" in raw:
            raw = fill(raw.decode("utf-8"), values).encode("utf-8")
        (submissions / notebook.name).write_bytes(raw)
    huge_image_notebook(submissions / "huge_image.ipynb")
    (submissions / "notes.txt").write_text("not a notebook: ignored")
    guarded = {path: host_state(path) for path in guarded_paths(values, rubric)}
    cgroups = grader_cgroups()
    command = [sys.executable, "-m", "grader", "grade", str(submissions), "--assignment", str(rubric),
               "--out", str(out), "--lang", "en", "--workers", "2", "--seed", "1", *LIMITS]
    audit = root / "audit.log"  # the grader's processes, and any unpickling of cloudpickle in them (tests/hooks)
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "TMPDIR": str(temp), "GRADER_AUDIT_LOG": str(audit),
           **python_path(HOOKS, os.environ)}
    started = time.monotonic()
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=1500, cwd=root, env=env)
    finally:
        listener.close()
    return {"run": run, "out": out, "listener": listener, "values": values, "audit": audit,
            "seconds": time.monotonic() - started,
            "guarded": guarded, "guarded_after": {path: host_state(path) for path in guarded},
            "leftovers": sandbox_leftovers(temp, grader_pids(audit), cgroups)}


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


def test_no_host_path_was_created_or_changed(batch):
    """Every path a notebook tries to write (expected.toml's host_absent), the rubrics, the references."""
    changed = {str(path): (before, batch["guarded_after"][path]) for path, before in batch["guarded"].items()
               if batch["guarded_after"][path] != before}
    assert not changed, changed


def test_nothing_of_the_batch_is_left_running_or_on_disk(batch):
    """No scratch folder in the batch's temp folder, no process that ran there, no cgroup of its graders."""
    assert batch["leftovers"] == []


def test_no_secret_reaches_any_output(batch):
    """The file next to the batch exists only outside the sandbox: its text is in no result, report or notebook."""
    secrets = [SECRET.encode()]
    if os.access("/etc/shadow", os.R_OK):  # root: root's entry of the host's shadow file
        secrets.append(Path("/etc/shadow").read_bytes().splitlines()[0])
    found = [str(path) for path in batch["out"].rglob("*") if path.is_file()
             and any(secret in path.read_bytes() for secret in secrets)]
    assert found == []
    assert not any(secret.decode() in batch["run"].stdout + batch["run"].stderr for secret in secrets)


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

    # always: no part the grader failed to evaluate unless the entry allows it, a reason for every point not
    # earned and for every cell that did not run cleanly
    assert_errors_only(result, expected.get("error_parts", []))
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
        everything = "\n".join(_outputs(cell) for cell in executed.cells)
        for text in expected.get("not_output", []):
            assert fill_in(text) not in everything, text
    if "saved_max_bytes" in expected:
        assert saved.stat().st_size <= expected["saved_max_bytes"]
    for path in expected.get("host_absent", []):  # and test_no_host_path_was_created_or_changed: not changed either
        assert not Path(fill_in(path)).exists(), f"{name} created {fill_in(path)}"
    if expected.get("models_plain"):
        entries = list((out / "models").rglob("*"))
        assert entries, "the models folder was copied"
        for entry in entries:
            mode = entry.lstat().st_mode
            assert stat.S_ISREG(mode) or stat.S_ISDIR(mode), entry
            assert not mode & (stat.S_ISUID | stat.S_ISGID), entry


def test_a_forged_result_is_not_the_saved_one(batch):
    """forged_result and writes_outside write a result.json (15/15) and a gradebook into the output folder."""
    rows = (batch["out"] / "gradebook.csv").read_text().splitlines()
    assert rows[0].endswith(",score,max_score,Q1,Q2,Q3,Q4,Q5,Q6") and len(rows) == len(EXPECTED) + 1
    for name in ("forged_result", "writes_outside"):
        result = json.loads((batch["out"] / name / "result.json").read_text())
        assert result["max_score"] == 15 and len(result["checks"]) == 6 and result["fingerprint"]
        assert result["score"] == EXPECTED[name]["score"]
        assert any(row.startswith(f"{name},") and f",{result['score']:g},15," in row for row in rows), rows


def test_forged_manifest_records_point_at_a_trained_model_and_are_ignored(batch):
    """The records name a model that would earn Q4 (it is on the host): Q4 judged the notebook's own, untrained one."""
    import numpy as np

    from grader.evaluate import models
    from grader.evaluate.data import get_kind
    target = batch["out"] / "forges_manifest" / "models" / "sub" / "trained.keras"
    kind = get_kind("binary_addition")
    fresh = kind.generate(np.random.default_rng(1), 1000, max_bit=7)
    model, _ = models.load(target)
    assert kind.score(fresh, model.predict(fresh.x, verbose=0))["exact_accuracy"] >= 0.95
    result = json.loads((batch["out"] / "forges_manifest" / "result.json").read_text())
    q4 = next(check for check in result["checks"] if check["id"] == "Q4")
    assert q4["model"]["name"] == "model" and q4["details"][0]["score"] == 0


def test_the_grader_never_unpickles_what_the_kernel_pickled(batch):
    """Only the sandboxed predictor unpickles the models' own code: no grader process ever did (tests/hooks)."""
    lines = batch["audit"].read_text().splitlines()
    assert any(line.startswith("audited") for line in lines)  # the audit ran in the driver and the workers
    assert [line for line in lines if not line.startswith("audited")] == []

"""What the benchmarks share: a small assignment written to a folder, and timed commands.

The assignment is a miniature binary-addition lab: a numeric answer, a
recurrent model judged on fresh data (structure, and exact accuracy by a
band relative to the reference), and "the code runs". ``epochs`` sets how
long a notebook trains; ``trivial`` makes a notebook that does no work.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.builders import ADDER, adder_metric, adder_setup, adder_structure, check, question, rubric_toml, seven_bits

PYTHON = sys.executable
GRADER = [PYTHON, "-m", "grader"]
md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell



def adder_rubric(zero: float = 0.5, full: float = 0.95) -> str:
    """The rubric of :func:`adder_notebook`; ``zero`` and ``full``: Q3's band, relative to the reference."""
    metric = adder_metric(3, 4, 1000, {"zero": zero, "full": full, "relative": True})
    return rubric_toml("bench-adder", question("Q1", seven_bits()), question("Q2", adder_structure()),
                       question("Q3", metric, check("code_runs")),
                       models={"adder": ADDER}, limits={"cell_timeout": 900, "notebook_timeout": 1800})


def trivial_rubric(name: str = "bench-trivial") -> str:
    """One question: a numeric answer and "the code runs"."""
    return rubric_toml(name, question("Q1", seven_bits(), check("code_runs")))


SETUP = adder_setup(max_bit=4, seed=0)


def adder_notebook(path: Path, epochs: int, answer: str = "127") -> Path:
    """A notebook that trains a SimpleRNN adder for ``epochs`` epochs (about 1 s each on one core)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [code(SETUP), md("**Q1**: the largest number with 7 bits?"), md(answer),
                md("**Q2** The model"),
                code("model = keras.Sequential([keras.Input((None, 2)), layers.SimpleRNN(16, return_sequences=True),"
                     " layers.Dense(1, activation='sigmoid')])\nmodel.compile('adam', 'binary_crossentropy')"),
                md("**Q3** Training"),
                code(f"x, y = gen(4000)\nhistory = model.fit(x, y, epochs={epochs}, batch_size=32, verbose=0)\n"
                     "print(history.history['loss'][-1])")]
    nbformat.write(nb, path)
    return path


def trivial_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [md("**Q1**: the largest number with 7 bits?"), md("127"), code("x = 2 ** 7 - 1\nprint(x)")]
    nbformat.write(nb, path)
    return path


def python_notebook(path: Path, epochs: int) -> Path:
    """A notebook that computes in plain Python for ``epochs`` rounds (about 1 s each): no TensorFlow at all."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [md("**Q1**: the largest number with 7 bits?"), md("127"),
                code(f"total = 0\nfor i in range({epochs} * 12_000_000):\n    total += i & 127\nprint(total)")]
    nbformat.write(nb, path)
    return path


def assignment(root: Path, epochs: int, students: int, trivial: bool = False,
               kind: str = "keras") -> tuple[Path, Path]:
    """Write rubric, reference and ``students`` submissions under ``root``; returns (rubric, submissions).

    ``kind``: keras (trains a model ``epochs`` epochs), python (computes in
    plain Python, no TensorFlow anywhere) or trivial (no work).
    """
    kind = "trivial" if trivial else kind
    root.mkdir(parents=True, exist_ok=True)
    rubric = root / "rubric.toml"
    rubric.write_text(adder_rubric() if kind == "keras" else trivial_rubric())
    submissions = root / "submissions"
    submissions.mkdir(exist_ok=True)
    make = {"trivial": lambda path: trivial_notebook(path),
            "python": lambda path: python_notebook(path, epochs),
            "keras": lambda path: adder_notebook(path, epochs)}[kind]
    make(root / "reference.ipynb")
    for i in range(students):
        make(submissions / f"student{i + 1:02d}.ipynb")
    return rubric, submissions


def env(cache: Path) -> dict:
    """The grader's environment: its own cache folder, nothing else from the caller's."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONPATH", "TMPDIR")}
    return {**keep, "XDG_CACHE_HOME": str(cache)}


class Timed:
    """One command, timed: wall seconds, CPU seconds and peak memory of every process it started.

    The process tree is sampled every ``interval`` seconds (psutil), because
    the kernels run in a sandbox whose CPU time never reaches
    ``getrusage(RUSAGE_CHILDREN)``. ``processes`` keeps, per pid, its command
    line, its parent, its last CPU time and its peak resident memory (VmHWM).
    """

    def __init__(self, command: list[str], interval: float = 0.1, **kwargs):
        import psutil
        self.processes: dict[int, dict] = {}
        machine = psutil.cpu_times()
        started = time.perf_counter()
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs) as popen:
            reader = threading.Thread(target=self._read, args=(popen,), daemon=True)
            reader.start()
            root = psutil.Process(popen.pid)
            while popen.poll() is None:
                try:
                    tree = [root, *root.children(recursive=True)]
                except psutil.Error:
                    tree = []
                for process in tree:
                    self._sample(process)
                time.sleep(interval)
            reader.join()
            self.run = subprocess.CompletedProcess(command, popen.returncode, self._out, self._err)
        self.wall = time.perf_counter() - started
        self.cpu = sum(p["cpu"] for p in self.processes.values())
        after = psutil.cpu_times()
        busy = sum(getattr(after, k, 0) - getattr(machine, k, 0) for k in ("user", "nice", "system", "irq", "softirq"))
        self.others = max(0.0, busy - self.cpu)   # CPU seconds used by other processes meanwhile
        self.steal = getattr(after, "steal", 0) - getattr(machine, "steal", 0)  # taken by the host from this VM

    def noise(self) -> str:
        return f"others {self.others:.1f} s CPU, steal {self.steal:.1f} s"

    def _read(self, popen):
        self._out, self._err = popen.communicate()

    def _sample(self, process) -> None:
        import psutil
        try:
            with process.oneshot():
                times = process.cpu_times()
                entry = self.processes.setdefault(process.pid, {
                    "cmdline": " ".join(process.cmdline()), "ppid": process.ppid(), "cpu": 0.0, "peak": 0})
                entry["cpu"] = times.user + times.system
            with open(f"/proc/{process.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        entry["peak"] = max(entry["peak"], int(line.split()[1]) * 1024)
        except (psutil.Error, OSError):
            pass


class Window:
    """Wall time and other processes' CPU over a stretch of several commands of ours."""

    def __init__(self):
        import psutil
        self._psutil = psutil
        self.started, self.machine = time.perf_counter(), psutil.cpu_times()

    def close(self, own_cpu: float) -> "Window":
        after = self._psutil.cpu_times()
        self.wall = time.perf_counter() - self.started
        self.cpu = own_cpu
        busy = sum(getattr(after, k, 0) - getattr(self.machine, k, 0)
                   for k in ("user", "nice", "system", "irq", "softirq"))
        self.others = max(0.0, busy - own_cpu)
        self.steal = getattr(after, "steal", 0) - getattr(self.machine, "steal", 0)
        return self

    noise = Timed.noise


def busy_elsewhere(seconds: float = 2.0) -> float:
    """Percent of all cores busy right now (call it while this benchmark runs nothing)."""
    import psutil
    return psutil.cpu_percent(interval=seconds)


def wait_until_quiet(limit: float = 15.0, patience: float = float(os.environ.get("BENCH_PATIENCE", "300"))) -> float:
    """Wait (up to ``patience`` s) until other work on the machine uses under ``limit`` % of the cores.

    Benchmarks on a shared machine are only as good as the quiet around them;
    returns the last reading so that the output can say how quiet it was.
    """
    deadline = time.monotonic() + patience
    busy = busy_elsewhere()
    while busy > limit and time.monotonic() < deadline:
        time.sleep(5)
        busy = busy_elsewhere()
    if busy > limit:
        print(f"  WARNING: other processes keep {busy:.0f} % of the cores busy; figures are noisy", flush=True)
    return busy


def quietly(measure, *args, tries: int = int(os.environ.get("BENCH_TRIES", "3")), **kwargs) -> "Timed":
    """``measure(*args)`` (which returns a :class:`Timed`) on a quiet machine.

    Waits for quiet first; a run during which other processes used more than
    5 % of the machine's CPU (or the host stole it) is done again, up to
    ``tries`` times (BENCH_TRIES, default 3), and the quietest run is kept.
    """
    import os as _os
    best = None
    for _ in range(tries):
        wait_until_quiet()
        timed = measure(*args, **kwargs)
        # this benchmark's own sampling and the system's housekeeping: about 0.5 s of CPU
        loud = max(0.0, timed.others + timed.steal - 0.5) / max(0.1, timed.wall * (_os.cpu_count() or 1))
        if best is None or loud < best[0]:
            best = (loud, timed)
        if loud <= 0.05:
            break
        print(f"    (noisy: {timed.noise()} during {timed.wall:.1f} s; measuring again)", flush=True)
    return best[1]


def grade(submissions: Path, rubric: Path, out: Path, cache: Path, *options: str, check: bool = True,
          timed: bool = False):
    """Run ``grader grade``; returns (wall seconds, stderr), or the :class:`Timed` run with ``timed``."""
    command = [*GRADER, "grade", str(submissions), "--assignment", str(rubric), "--out", str(out), "--lang", "en",
               *options]
    run = Timed(command, env=env(cache), cwd=ROOT)
    if check and run.run.returncode != 0:
        raise SystemExit(f"grader failed ({run.run.returncode}):\n{run.run.stderr[-3000:]}")
    run.reference_reused = "unchanged, re-used" in run.run.stderr.split("\n", 1)[0]
    return run if timed else (run.wall, run.run.stderr)


def grade_per_submission(submissions: Path, rubric: Path, out: Path, cache: Path, *options: str) -> Timed:
    """A timed ``grader grade`` whose reference solution came from the cache, as for every class after the first.

    When the cache was invalidated meanwhile (the grader's code changed under
    the benchmark), the run is done again once the reference is cached anew.
    """
    for _ in range(3):
        shutil.rmtree(out, ignore_errors=True)  # a class graded from scratch
        timed = grade(submissions, rubric, out, cache, *options, timed=True)
        if timed.reference_reused:
            return timed
        print("  (the reference solution was graded again during this run: the grader's code changed; "
              "measuring again)", flush=True)
        shutil.rmtree(out, ignore_errors=True)
    raise SystemExit("the grader's code keeps changing under the benchmark; run it again later")


PLAIN = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=1800, kernel_name="python3", allow_errors=True).execute()
"""


def same_threads(threads: int) -> dict:
    """The TensorFlow settings the grader gives its kernel (grader/execute/runner.py), for a like-for-like baseline."""
    n = str(threads)
    return {"TF_NUM_INTRAOP_THREADS": n, "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": n,
            "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n, "TF_ENABLE_ONEDNN_OPTS": "0"}


def plain_nbclient(notebook: Path, extra_env: dict | None = None) -> Timed:
    """Executing ``notebook`` with plain nbclient: no sandbox, no harvest, no evaluation."""
    with tempfile.TemporaryDirectory() as scratch:
        run = Timed([PYTHON, "-c", PLAIN, str(notebook)], cwd=scratch,
                    env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
                    | {"TF_CPP_MIN_LOG_LEVEL": "2"} | (extra_env or {}))
    if run.run.returncode != 0:
        raise SystemExit(f"nbclient failed:\n{run.run.stderr[-3000:]}")
    return run


def results(out: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(out.glob("*/result.json"))}


def median(values) -> float:
    return statistics.median(values)


def table(rows: list[tuple], header: tuple) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]

    def line(row):
        return "| " + " | ".join(str(x).ljust(w) for x, w in zip(row, widths)) + " |"
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def workdir(name: str) -> Path:
    base = Path(os.environ.get("BENCH_DIR") or tempfile.gettempdir()) / f"grader-bench-{name}"
    base.mkdir(parents=True, exist_ok=True)
    return base


def adder_class(name: str, description: str, epochs: int) -> tuple[Path, Path, Path]:
    """The adder assignment written afresh in ``workdir(name)``, its size from the command line (``--students``,
    ``--epochs``, whose default is ``epochs``): (root, rubric, submissions)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=epochs)
    args = parser.parse_args()
    root = workdir(name)
    shutil.rmtree(root, ignore_errors=True)
    return root, *assignment(root, args.epochs, args.students)

"""Predictions of models with code of their own, made in a sandbox: only arrays come back.

A model whose layers are the notebook's own code (a custom layer or RNN
cell, a subclassed ``keras.Model``, a ``Lambda``) cannot be loaded in the
grader's process, which never runs student code. :class:`SandboxedPredictor`
runs :mod:`predict_server <grader.execute.kernel.predict_server>` under the
same sandbox and limits as the student's kernel (time per request, memory,
processes, disk; TensorFlow threads pinned), started when a first such model
must be called and kept for the rest of the submission's evaluation.

Into its scratch folder go the model file, the kernel's pickle of the
notebook's code and the fresh inputs ``x`` (never the targets); out comes
one ``.npy`` of outputs, read with ``allow_pickle=False`` after checking that
it is a plain file of numbers with one row per input. Nothing the kernel or
the server wrote is ever unpickled here.
"""
from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from .leftovers import scratch_prefix
from .limits import Cgroup, rlimits_for
from .runner import KERNEL_SUPPORT_INSIDE, WATCH_INTERVAL, Limits, disk_used, kernel_env
from .sandbox import KERNEL_SUPPORT, Sandbox, detect

ANSI_CODES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # Keras colours its messages
TENSORFLOW_LOG = re.compile(r"[EWIF]\d{4} ")         # TensorFlow's own log lines, not why the process ended
MAX_REPLY = 64 * 1024              # bytes of reply channel read while waiting for one answer
MAX_OUTPUT = 256 * 1024**2         # bytes of one file of outputs


class PredictionError(Exception):
    """The model's own code gave no predictions; the message says why."""


class SandboxedPredictor:
    """Calls models with code of their own, one sandboxed process per submission (see the module)."""

    def __init__(self, sandbox: Sandbox | None = None, limits: Limits | None = None):
        self.sandbox = sandbox               # None: the strongest level that works here, found when first needed
        self.limits = limits or Limits()
        self._process: subprocess.Popen | None = None
        self._flavour = ""
        self._requests = 0
        self._job: Path | None = None
        self._cgroup: Cgroup | None = None

    def predict(self, model_file: Path, code_file: Path | None, flavour: str, x: np.ndarray) -> np.ndarray:
        """The outputs of the model saved in ``model_file`` (with the notebook's code in ``code_file``) on ``x``."""
        if os.name == "nt":  # process groups, O_NOFOLLOW and select on pipes are POSIX's; its points are held anyway
            raise PredictionError("a model with code of its own is measured on Linux and macOS only")
        if self._process is None or self._process.poll() is not None or flavour != self._flavour:
            self._start(flavour)
        self._requests += 1
        number = self._requests
        work = self._job / "work"  # at the same path inside the sandbox, as the kernel's scratch folder is
        inputs, outputs = work / f"x-{number}.npy", work / f"y-{number}.npy"
        request = {"id": number, "model": str(self._bring(model_file)),
                   "code": str(self._bring(code_file)) if code_file else None,
                   "x": str(inputs), "y": str(outputs)}
        try:
            with _new_file(inputs) as handle:
                np.save(handle, np.asarray(x, dtype=np.float32), allow_pickle=False)
            reply = self._ask(request)
            if reply.get("error"):
                raise PredictionError(ANSI_CODES.sub("", str(reply["error"]))[:1000])
            return _read_outputs(outputs, len(x))
        finally:
            for path in (inputs, outputs):
                path.unlink(missing_ok=True)

    def _start(self, flavour: str) -> None:
        self.close()
        self.sandbox = self.sandbox or detect("auto")
        self._flavour = flavour
        self._job = Path(tempfile.mkdtemp(prefix=scratch_prefix("predict")))
        work, connection = self._job / "work", self._job / "connection"
        work.mkdir()
        connection.mkdir()
        self._cgroup = Cgroup(self.limits.processes, int(self.limits.memory * 1.1))
        support = KERNEL_SUPPORT_INSIDE if self.sandbox.isolated else str(KERNEL_SUPPORT)
        argv = self.sandbox.command(
            [sys.executable, "-c", "import predict_server; predict_server.main()"], self._job, work, connection,
            {str(KERNEL_SUPPORT): KERNEL_SUPPORT_INSIDE}, rlimits_for(self.limits, self.sandbox, self._cgroup),
            self._cgroup.procs_files())
        env = kernel_env(work, support, self.limits, {"legacy_keras": flavour == "legacy"})
        with open(self._job / "predictor.log", "wb") as log:  # the child keeps its own copy of the descriptor
            self._process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                             env=env, cwd=work, start_new_session=True)

    def _bring(self, path: Path) -> Path:
        """``path`` copied into the scratch folder, once."""
        target = self._job / "work" / path.name
        if not target.is_file() or target.is_symlink():
            with open(path, "rb") as source, _new_file(target) as copy:
                shutil.copyfileobj(source, copy)
        return target

    def _ask(self, request: dict) -> dict:
        """Send ``request`` and wait for its answer, within the time, memory and disk limits."""
        process = self._process
        try:
            process.stdin.write((json.dumps(request) + "\n").encode())
            process.stdin.flush()
        except OSError:
            raise PredictionError(self._ended()) from None
        deadline = time.monotonic() + self.limits.cell_timeout
        received, ticks = b"", 0
        while True:
            ready, _, _ = select.select([process.stdout], [], [], WATCH_INTERVAL)
            if ready:
                chunk = os.read(process.stdout.fileno(), MAX_REPLY)
                if not chunk:
                    raise PredictionError(self._ended())
                received += chunk
                for line in received.split(b"\n")[:-1]:
                    reply = _parse(line)
                    if reply.get("id") == request["id"]:
                        return reply
                received = received[received.rfind(b"\n") + 1:]
            ticks += 1
            problem = self._over_limits(deadline, len(received), ticks)
            if problem:
                self.close()
                raise PredictionError(problem)

    def _over_limits(self, deadline: float, pending: int, ticks: int) -> str:
        """Why the predicting process must be stopped now, or ""."""
        limits = self.limits
        if time.monotonic() > deadline:
            return f"the model's code ran longer than {limits.cell_timeout:.0f} s and was stopped"
        if self._memory() > limits.memory:
            return self._too_much_memory()
        if ticks % 5 == 0 and disk_used(self._job, self._process.pid, limits.disk) > limits.disk:
            return f"the model's code wrote more than {limits.disk / 1024**2:.0f} MiB and was stopped"
        if pending > MAX_REPLY:
            return "the model's code wrote into the grader's reply channel and was stopped"
        return ""

    def _memory(self) -> int:
        used = self._cgroup.memory_usage()
        if used is not None:
            return used
        try:
            processes = [psutil.Process(self._process.pid)]
            processes += processes[0].children(recursive=True)
        except psutil.Error:
            return 0
        total = 0
        for process in processes:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _too_much_memory(self) -> str:
        return f"the model's code used more than {self.limits.memory / 1024**3:.1f} GiB of memory and was stopped"

    def _ended(self) -> str:
        """Why the predicting process is gone: the memory limit of its cgroup, or its own end."""
        try:
            code = self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = None
        if self._cgroup.oom_killed():
            return self._too_much_memory()
        log = (self._job / "predictor.log").read_bytes()[-4000:].decode("utf-8", "replace").splitlines()
        said = [line.strip() for line in log if line.strip() and not TENSORFLOW_LOG.match(line)]
        return f"the process running the model's code ended (exit code {code})" + (f": {said[-1]}" if said else "")

    def close(self) -> None:
        """Stop the predicting process and remove its scratch folder."""
        process, self._process = self._process, None
        if process is not None:
            try:
                process.stdin.close()  # the server's end of input: it returns
                process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except OSError:
                    pass
                process.wait()
            process.stdout.close()
        if self._cgroup is not None:
            self._cgroup.close()
            self._cgroup = None
        if self._job is not None:
            shutil.rmtree(self._job, ignore_errors=True)
            self._job = None

    def __enter__(self) -> "SandboxedPredictor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _new_file(path: Path):
    """``path`` opened for writing as a new file: whatever the sandbox put there (a link, a FIFO) is removed first."""
    path.unlink(missing_ok=True)
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644), "wb")


def _parse(line: bytes) -> dict:
    try:
        reply = json.loads(line)
    except ValueError:
        return {}
    return reply if isinstance(reply, dict) else {}


def _read_outputs(path: Path, rows: int) -> np.ndarray:
    """The outputs the sandbox wrote: a plain file (no link, no FIFO) holding a numeric array of ``rows`` rows."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        raise PredictionError("the model's code wrote no outputs") from None
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_OUTPUT:
            raise PredictionError("the model's outputs are not a plain file of at most "
                                  f"{MAX_OUTPUT // 1024**2} MiB")
        try:
            outputs = np.load(handle, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise PredictionError(f"the model's outputs are unreadable ({type(error).__name__})") from None
    if not isinstance(outputs, np.ndarray) or outputs.dtype.kind not in "biuf" or outputs.ndim == 0 \
            or len(outputs) != rows:
        raise PredictionError(f"the model's outputs are not numbers with one row per input ({rows})")
    return outputs.astype(np.float32)

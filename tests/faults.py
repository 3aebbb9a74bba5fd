"""Faults injected into a running batch, on cue rather than on a timer.

A victim notebook marks its kernel (a file in its scratch folder, which the
test reaches through the kernel's working folder while the sandbox hides
everything else) and then waits until the test releases it. So the test kills
the worker that grades it while it is surely mid-notebook, however slow the
machine, and no victim finishes before the test is done killing.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import psutil

VICTIM = "VICTIM"    # written by the victim notebook in its working folder
RELEASE = "RELEASE"  # put there by the killer when it is done killing
VICTIM_CELL = (f"import os, time\nopen({VICTIM!r}, 'w').close()\ndeadline = time.time() + 50\n"
               f"while not os.path.exists({RELEASE!r}) and time.time() < deadline:\n    time.sleep(0.05)")


class WorkerKiller(threading.Thread):
    """Kills, ``times`` times, the worker whose kernel runs a victim notebook; then releases every victim.

    A worker is the ancestor of the kernel whose parent is ``workers_of``:
    the grader's driver, or this test process when it runs the pool itself.
    """

    def __init__(self, times: int, workers_of: int | None = None):
        super().__init__(daemon=True)
        self.times, self.workers_of = times, workers_of or os.getpid()
        self.killed: list[int] = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            for kernel, scratch in self._victim_kernels():
                try:
                    if len(self.killed) == self.times:
                        (scratch / RELEASE).touch()
                        continue
                    worker = kernel
                    while worker.ppid() != self.workers_of:
                        worker = worker.parent()
                    if worker.pid not in self.killed:
                        self.killed.append(worker.pid)
                        os.kill(worker.pid, signal.SIGKILL)
                except (psutil.Error, OSError, AttributeError):
                    continue
            time.sleep(0.1)

    def _victim_kernels(self) -> list[tuple[psutil.Process, Path]]:
        """Kernels running a victim notebook, with their scratch folder (an absolute path: a kernel that is
        exiting may report no working folder at all)."""
        try:
            processes = psutil.Process(self.workers_of).children(recursive=True)
        except psutil.Error:
            return []
        kernels = []
        for process in processes:
            try:
                scratch = Path(process.cwd())
                if ("ipykernel_launcher" in " ".join(process.cmdline()) and scratch.is_absolute()
                        and (scratch / VICTIM).exists()):
                    kernels.append((process, scratch))
            except (psutil.Error, OSError):
                continue
        return kernels

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.join(5)
        return False

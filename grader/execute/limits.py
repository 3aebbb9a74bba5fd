"""Resource limits around the student's kernel, enforced by the kernel of the OS.

- cgroups (v1 ``pids`` and ``memory`` controllers, or a v2 group), when the
  grader may create them (as root on most Linux machines): the number of
  processes (a fork bomb stops there) and the memory of the whole kernel
  process tree (the OS kills it cleanly when it is exceeded).
- ``prlimit`` on the kernel process (:func:`rlimits_for`): address space (a
  backstop for memory where cgroups are not available), the size of any one
  file it writes, no core dumps, and, where no cgroup limits processes, the
  number of processes of the kernel's uid (``RLIMIT_NPROC``; it does not
  bind a process whose real uid is root, so it is set only for other uids).
The runner's watchdog adds what these cannot: the memory check with a clear
"out of memory at cell N", and the disk used in the scratch folder (files the
kernel deleted but keeps open included: no walk of the folder sees them).
"""
from __future__ import annotations

import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from .leftovers import owner, owner_alive

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass
class Limits:
    """What the kernel may use; the defaults are a rubric's when its ``[limits]`` leaves a key out."""
    cell_timeout: float = 900.0
    notebook_timeout: float = 2400.0
    memory: int = 4 * 1024**3          # bytes, resident memory of the kernel and its children
    processes: int = 256               # processes and threads of the kernel's tree
    disk: int = 1024**3                # bytes written to the scratch folder
    output: int = 1024**2              # bytes of output kept per cell
    threads: int = 1                   # TensorFlow / BLAS threads in the kernel


class Cgroup:
    """A control group for one kernel, or nothing when none can be made here."""

    def __init__(self, processes: int, memory: int):
        self.paths: list[Path] = []
        name = f"grader-{owner()}-{uuid.uuid4().hex[:8]}"  # who made it: see _sweep
        v1 = {"pids": ("pids.max", processes), "memory": ("memory.limit_in_bytes", memory)}
        if (CGROUP_ROOT / "pids").is_dir() or (CGROUP_ROOT / "memory").is_dir():
            for controller, (limit_file, value) in v1.items():
                _sweep(CGROUP_ROOT / controller)
                self._make(CGROUP_ROOT / controller / name, {limit_file: value})
        elif (CGROUP_ROOT / "cgroup.controllers").is_file():
            _sweep(CGROUP_ROOT)
            self._make(CGROUP_ROOT / name, {"pids.max": processes, "memory.max": memory, "memory.swap.max": 0})

    def _make(self, path: Path, limits: dict) -> None:
        try:
            path.mkdir()
        except OSError:
            return
        for limit_file, value in limits.items():
            try:
                (path / limit_file).write_text(str(value))
            except OSError:
                pass
        self.paths.append(path)

    @property
    def active(self) -> bool:
        return bool(self.paths)

    @property
    def limits_processes(self) -> bool:
        return any((path / "pids.max").is_file() for path in self.paths)

    def procs_files(self) -> list[Path]:
        """The files the kernel's launcher writes its pid to, to join the group before it starts anything."""
        return [path / "cgroup.procs" for path in self.paths]

    def _read(self, *names: str) -> str | None:
        for path in self.paths:
            for name in names:
                try:
                    return (path / name).read_text()
                except OSError:
                    continue
        return None

    def memory_usage(self) -> int | None:
        """Memory of the whole group, shared pages counted once (unlike a sum of RSS)."""
        text = self._read("memory.usage_in_bytes", "memory.current")
        return int(text) if text and text.strip().isdigit() else None

    def processes_refused(self) -> int:
        """How many times the group hit its process limit."""
        for line in (self._read("pids.events") or "").splitlines():
            key, _, value = line.partition(" ")
            if key == "max" and value.strip().isdigit():
                return int(value)
        return 0

    def oom_killed(self) -> bool:
        """True when the OS killed a process of the group for exceeding memory (v1 and v2)."""
        for path in self.paths:
            for name in ("memory.oom_control", "memory.events"):
                try:
                    text = (path / name).read_text()
                except OSError:
                    continue
                for line in text.splitlines():
                    key, _, value = line.partition(" ")
                    if key == "oom_kill" and value.strip().isdigit() and int(value) > 0:
                        return True
        return False

    def close(self) -> None:
        """Kill whatever is left in the group (orphans of a fork bomb included) and remove it."""
        for path in self.paths:
            _empty_and_remove(path, patience=60)


def _empty_and_remove(path: Path, patience: float) -> None:
    """Kill the group's processes until it is empty, then remove it; give up after ``patience`` seconds.

    rmdir works only once every killed process has exited and been reaped: for
    a fork bomb's hundreds of processes on a loaded machine that took over 5 s.
    A group given up on is removed by the next grader's :func:`_sweep`.
    """
    deadline = time.monotonic() + patience
    while True:
        try:
            pids = [int(p) for p in (path / "cgroup.procs").read_text().split()]
        except OSError:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            path.rmdir()
            return
        except OSError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)


def _sweep(parent: Path, age: float = 600) -> None:
    """Clean up after graders that were killed (kill -9 skips :meth:`Cgroup.close`).

    A group whose grader is gone is emptied (its kernel, had it outlived the
    grader, is killed) and removed; an empty group of an unknown owner is
    removed once it is ``age`` seconds old.
    """
    now = time.time()
    try:
        groups = list(parent.glob("grader-*"))
    except OSError:
        return
    for path in groups:
        alive = owner_alive(path.name)
        if alive is False:
            _empty_and_remove(path, patience=1)
        elif alive is None:
            try:
                if now - path.stat().st_mtime > age:
                    path.rmdir()  # fails, harmlessly, while a process is still inside
            except OSError:
                pass


def rlimits_for(limits, sandbox, cgroup: Cgroup) -> dict[str, int]:
    """prlimit resource limits of the kernel (names as ``prlimit --NAME=VALUE``)."""
    rlimits = {"as": max(2 * limits.memory, 8 * 1024**3), "fsize": limits.disk, "core": 0}
    if not cgroup.limits_processes and hasattr(os, "getuid"):  # no uids on Windows (nor prlimit to set it)
        from .sandbox import UNSHARE_UID
        uid = UNSHARE_UID if sandbox.level == "unshare" else os.getuid()
        if uid != 0:  # the limit counts every process of the uid: leave room for those already running
            rlimits["nproc"] = limits.processes + _processes_of(uid)
    return rlimits


def _processes_of(uid: int) -> int:
    """Processes and threads now running with real uid ``uid``."""
    import psutil
    total = 0
    for process in psutil.process_iter(["uids", "num_threads"]):
        try:
            if process.info["uids"] and process.info["uids"].real == uid:
                total += process.info["num_threads"] or 1
        except psutil.Error:
            continue
    return total

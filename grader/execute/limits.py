"""Resource limits around the student's kernel, enforced by the kernel of the OS.

- cgroups (v1 ``pids`` and ``memory`` controllers, or a v2 group), when the
  grader may create them (as root on most Linux machines): the number of
  processes (a fork bomb stops there) and the memory of the whole kernel
  process tree (the OS kills it cleanly when it is exceeded).
- ``prlimit`` on the kernel process: address space (a backstop for memory
  where cgroups are not available) and the size of any one file it writes.
The runner's watchdog adds what these cannot: the memory check with a clear
"out of memory at cell N", and the disk used in the scratch folder.
"""
from __future__ import annotations

import os
import shutil
import signal
import time
import uuid
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


class Cgroup:
    """A control group for one kernel, or nothing when none can be made here."""

    def __init__(self, processes: int, memory: int):
        self.paths: list[Path] = []
        name = f"grader-{uuid.uuid4().hex[:12]}"
        v1 = {"pids": ("pids.max", processes), "memory": ("memory.limit_in_bytes", memory)}
        if (CGROUP_ROOT / "pids").is_dir() or (CGROUP_ROOT / "memory").is_dir():
            for controller, (limit_file, value) in v1.items():
                self._make(CGROUP_ROOT / controller / name, {limit_file: value})
        elif (CGROUP_ROOT / "cgroup.controllers").is_file():
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

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` started inside the group: a tiny shell joins it, then becomes ``argv``."""
        if not self.paths:
            return argv
        joins = "; ".join(f"echo $$ > {path / 'cgroup.procs'}" for path in self.paths)
        return ["/bin/sh", "-c", f'{joins}; exec "$@"', "grader-limits", *argv]

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
            for _ in range(100):  # up to about 5 s: killed processes must be reaped before rmdir works
                try:
                    pids = [int(p) for p in (path / "cgroup.procs").read_text().split()]
                except OSError:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                try:
                    path.rmdir()
                    break
                except OSError:
                    time.sleep(0.05)


def prlimit_prefix(address_space: int, file_size: int) -> list[str]:
    """Limits the kernel process inherits, set by util-linux ``prlimit`` when it exists."""
    tool = shutil.which("prlimit")
    if tool is None:
        return []
    return [tool, f"--as={address_space}", f"--fsize={file_size}", "--core=0", "--"]

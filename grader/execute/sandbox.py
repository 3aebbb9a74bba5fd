"""How the student's kernel is launched: the sandbox around it.

Levels, strongest first:

- ``bubblewrap``: ``bwrap`` with every namespace unshared (no network at all),
  an unprivileged uid with no capabilities, a read-only view of the system
  and of Python, and write access only to the job's scratch and connection
  folders. Nothing else of the host is visible: not the rubrics, the
  reference, other submissions, the output folder or the user's home.
- ``none``: no isolation. Only for machines without bubblewrap; every
  report and the terminal say so.
"""
from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

KERNEL_SUPPORT = Path(__file__).parent / "kernel"
SANDBOX_UID = 1000


@dataclass
class Sandbox:
    level: str
    warning: str = ""

    def command(self, kernel_argv: list[str], work: Path, connection_dir: Path,
                readonly: dict[str, str]) -> list[str]:
        """Wrap ``kernel_argv``; ``readonly`` maps host paths to sandbox paths."""
        if self.level != "bubblewrap":
            return kernel_argv
        argv = [shutil.which("bwrap"), "--unshare-all", "--unshare-user",
                "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
                "--cap-drop", "ALL", "--die-with-parent", "--new-session",
                "--unsetenv", "JPY_PARENT_PID",
                "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
        for path in _system_paths():
            argv += (["--symlink", os.readlink(path), path] if os.path.islink(path)
                     else ["--ro-bind", path, path])
        for host, inside in readonly.items():
            argv += ["--ro-bind", host, inside]
        argv += ["--bind", str(work), str(work), "--bind", str(connection_dir), str(connection_dir),
                 "--chdir", str(work), "--"]
        return argv + kernel_argv


def _system_paths() -> list[str]:
    """Host folders a Python kernel needs, read-only: the OS and Python itself."""
    paths = ["/usr", "/etc", "/bin", "/sbin", "/lib", "/lib64", "/lib32"]
    prefixes = {sys.prefix, sys.base_prefix, sysconfig.get_paths()["stdlib"], os.path.realpath(sys.executable)}
    for prefix in sorted(prefixes):
        prefix = prefix if os.path.isdir(prefix) else os.path.dirname(prefix)
        if not prefix.startswith(("/usr/", "/etc/")) and prefix not in paths:
            paths.append(prefix)
    return [p for p in paths if os.path.lexists(p)]


def detect(requested: str = "auto") -> Sandbox:
    """The strongest sandbox available, or the one ``requested``."""
    if requested in ("auto", "bubblewrap") and shutil.which("bwrap"):
        return Sandbox("bubblewrap")
    if requested == "bubblewrap":
        raise RuntimeError("bubblewrap was requested but `bwrap` is not installed")
    return Sandbox("none", "Student code ran WITHOUT a sandbox: it could read files, use the "
                           "network and change the machine. Install bubblewrap (apt-get install bubblewrap).")

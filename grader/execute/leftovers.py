"""What a grader killed with kill -9 leaves behind, and who cleans it up.

kill -9 (of the driver, of a pool worker, or by the OS when memory runs out)
skips every ``finally``: the kernel's cgroup and its scratch folder, which
holds a copy of a student's notebook, would stay for good. Each is named
after the grader process that made it (``grader-[KIND-]PID-START-...``), and
a grader about to make one removes those whose maker no longer runs.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

_MAKER = re.compile(r"grader-(?:[a-z]+-)?(\d+)-(\d+)-")


def owner() -> str:
    """This process, as ``PID-START``: a pid alone may be reused after the grader died."""
    try:
        import psutil
        return f"{os.getpid()}-{int(psutil.Process().create_time())}"
    except Exception:
        return f"{os.getpid()}-0"


def maker(name: str) -> tuple[int, int] | None:
    """The grader process (pid, start) that made the scratch folder or cgroup ``name``; None for other names."""
    match = _MAKER.match(name)
    return (int(match[1]), int(match[2])) if match else None


def owner_alive(name: str) -> bool | None:
    """Whether the grader process named in ``name`` still runs; None for names of another form."""
    made_by = maker(name)
    if made_by is None:
        return None
    import psutil
    try:
        return int(psutil.Process(made_by[0]).create_time()) == made_by[1]
    except psutil.Error:
        return False


def longest_scratch_name(kind: str) -> str:
    """The longest name a grader here can give a scratch folder of ``kind``: :func:`scratch_prefix` with the
    largest pid and a 10-digit start, then mkdtemp's 8 random characters."""
    try:
        largest_pid = int(Path("/proc/sys/kernel/pid_max").read_text()) - 1
    except (OSError, ValueError):
        largest_pid = 99_999  # macOS and the BSDs
    return f"grader-{kind}-{'9' * len(str(largest_pid))}-{'9' * 10}-{'x' * 8}"


def scratch_prefix(kind: str) -> str:
    """The prefix of this grader's next scratch folder of ``kind`` in the temp folder.

    Scratch folders of that kind made by graders that no longer run are removed first.
    """
    for path in Path(tempfile.gettempdir()).glob(f"grader-{kind}-*"):
        if owner_alive(path.name) is False:
            shutil.rmtree(path, ignore_errors=True)
    return f"grader-{kind}-{owner()}-"

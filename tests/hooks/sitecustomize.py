"""Put on the grader's PYTHONPATH by tests/test_resume.py to stop a grader in the middle of writing a result.

With ``GRADER_TEST_PAUSE_DIR`` set, the first process about to move a whole ``result.json`` into place (the
temporary file written and synced, ``os.replace`` not yet called) once two other submissions have one, writes
its pid and the path to ``<dir>/paused`` and sleeps: the test kills the driver or this worker right then,
on cue. Kernels and the sandboxed predictor get an environment of their own, so only the grader's processes
load this.
"""
import os
import re
import time
from pathlib import Path

PAUSE_DIR = os.environ.get("GRADER_TEST_PAUSE_DIR")
_TEMPORARY_RESULT = re.compile(r"\.result\.json\..+\.tmp$")


def _pause_before(replace):
    def paused_replace(src, dst, *args, **kwargs):
        source, target = Path(src), Path(dst)
        if _TEMPORARY_RESULT.search(source.name) and len(list(target.parent.parent.glob("*/result.json"))) >= 2:
            try:
                fd = os.open(Path(PAUSE_DIR) / "paused", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            except FileExistsError:  # paused once already
                return replace(src, dst, *args, **kwargs)
            os.write(fd, f"{os.getpid()} {target}\n".encode())
            os.close(fd)
            time.sleep(120)  # killed here; a test that never kills goes on after two minutes
        return replace(src, dst, *args, **kwargs)
    return paused_replace


if PAUSE_DIR:
    os.replace = _pause_before(os.replace)

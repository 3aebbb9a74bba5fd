"""What tests put into the grader's own processes, each hook switched on by its variable.

Put on the grader's PYTHONPATH (see tests/expect.py's ``python_path``). Kernels and the sandboxed predictor
get an environment of their own, so only the grader's processes (driver, workers) load this.

- ``GRADER_AUDIT_LOG``: each process logs ``audited PID`` when it starts (the graders a test answers for:
  see ``grader_pids``), and any unpickling of cloudpickle's content, which only the sandboxed predictor may do
  (tests/test_hostile.py).
- ``GRADER_TEST_PAUSE_DIR`` (tests/test_resume.py): the first process about to move a whole ``result.json``
  into place (the temporary file written and synced, ``os.replace`` not yet called) once two other
  submissions have one, writes its pid and the path to ``<dir>/paused`` and sleeps: the test kills the driver
  or this worker right then, on cue.
"""
import os
import re
import sys
import time
from pathlib import Path

AUDIT_LOG = os.environ.get("GRADER_AUDIT_LOG")
PAUSE_DIR = os.environ.get("GRADER_TEST_PAUSE_DIR")
_TEMPORARY_RESULT = re.compile(r"\.result\.json\..+\.tmp$")


def _audit(event, args):
    if event == "pickle.find_class" and str(args[0]).startswith("cloudpickle"):
        with open(AUDIT_LOG, "a", encoding="utf-8") as log:
            log.write(f"unpickled {args[0]}.{args[1]} in {os.getpid()}\n")


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


if AUDIT_LOG:
    with open(AUDIT_LOG, "a", encoding="utf-8") as log:
        log.write(f"audited {os.getpid()}\n")
    sys.addaudithook(_audit)

if PAUSE_DIR:
    os.replace = _pause_before(os.replace)

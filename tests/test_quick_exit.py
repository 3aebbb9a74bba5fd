"""The ``grader`` command ends as soon as its work is done, even with TensorFlow loaded.

Python's teardown of TensorFlow took seconds after the last report was written (bench/README.md). The
command's entry point runs the exit handlers, flushes its output and leaves, skipping that teardown, unless
another non-daemon thread still has work to finish. A stand-in for TensorFlow keeps these tests fast: the
teardown is seen by an object that says goodbye when the interpreter tears its module down.
"""
import os
import subprocess
import sys

import pytest

PROGRAM = """
import atexit, sys, threading, time, types
import grader.cli

class Goodbye:
    def __del__(self):
        sys.__stdout__.write("torn down\\n")

teardown_witness = Goodbye()
if "tensorflow" in sys.argv:
    sys.modules["tensorflow"] = types.ModuleType("tensorflow")

def main():
    atexit.register(lambda: print(" exit handler", end=""))
    if "thread" in sys.argv:
        threading.Thread(target=lambda: (time.sleep(0.5), print("thread finished"))).start()
    print("work done", end="")  # no newline: still in the buffer when main returns
    return 3

grader.cli.main = main
grader.cli.run()
"""


@pytest.mark.parametrize("situation, torn_down", [
    (["tensorflow"], False),            # the quick exit
    ([], True),                         # nothing heavy loaded: the ordinary exit
    (["tensorflow", "thread"], True),   # a thread still working: the ordinary exit waits for it
])
def test_the_command_exits_with_its_code_output_and_handlers(situation, torn_down):
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # output unflushed is lost
    run = subprocess.run([sys.executable, "-c", PROGRAM, *situation], capture_output=True, text=True, timeout=60,
                         env=buffered)
    assert run.returncode == 3, run.stderr
    assert run.stdout.startswith("work done")
    assert "exit handler" in run.stdout
    assert ("thread finished" in run.stdout) == ("thread" in situation)
    assert ("torn down" in run.stdout) == torn_down

"""Commands that run no notebook import none of the execution stack (nbclient, jupyter_client, zmq, psutil)
nor TensorFlow: ``import grader.cli``, ``grader assignments`` and ``grader export`` stay quick."""
import json
import subprocess
import sys

HEAVY = ("nbclient", "jupyter_client", "zmq", "psutil", "tensorflow", "keras", "tf_keras", "nbformat")
SCRIPT = """
import json, sys
from grader.cli import main
code = main({argv!r}) if {argv!r} else 0
print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r}))))
"""


def imported(argv: list[str]) -> list[str]:
    run = subprocess.run([sys.executable, "-c", SCRIPT.format(argv=argv, heavy=HEAVY)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_importing_the_command_line_imports_no_execution_stack():
    assert imported([]) == []


def test_listing_assignments_imports_no_execution_stack():
    assert imported(["assignments"]) == ["nbformat"]  # a rubric's handout is a notebook: it reads it


def test_exporting_imports_no_execution_stack(tmp_path):
    (tmp_path / "ana").mkdir()
    (tmp_path / "ana" / "result.json").write_text(json.dumps({
        "submission": "ana", "assignment": "x", "score": 1, "max_score": 2, "seed": 1, "checks": []}))
    (tmp_path / "ana" / "report.html").write_text("<html></html>")
    assert imported(["export", "moodle-feedback", str(tmp_path)]) == []
    assert (tmp_path / "moodle-feedback.zip").is_file()

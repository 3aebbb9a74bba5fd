"""Caches keyed by concern: each saved thing depends on the code that makes it, not on its folder's neighbours.

The unit tests read which files each digest covers. The last test edits a report template in a copy of the
package and grades again: the reports are drawn anew from result.json, no notebook runs and no model is
loaded (TensorFlow cannot even be imported in that run).
"""
import json
import os
import shutil
import subprocess
import sys

import pytest

from grader import digests

from . import tiny_assignment
from .expect import assert_errors_only


def covered(files) -> set[str]:
    return {str(path.relative_to(digests.PACKAGE)) for path in files}


def test_execution_depends_on_the_kernel_sandbox_and_limits_code_only():
    execution = covered(digests.files(digests.EXECUTION_CODE))
    assert {"execute/runner.py", "execute/sandbox.py", "execute/limits.py", "execute/cells.py",
            "execute/kernel/grader_kernel.py", "execute/kernel/keras_compat.py"} <= execution
    # worker slots and cores, the sandboxed predictor of the evaluation, judging and reporting code
    assert not execution & {"execute/warmup.py", "execute/predictor.py", "grade.py", "evaluate/models.py",
                            "report/html.py", "report/templates/base.css.j2", "cli.py"}


def test_measurements_depend_on_the_evaluation_and_data_code_only():
    measurement = covered(digests.files(digests.MEASUREMENT_CODE))
    assert {"evaluate/models.py", "evaluate/data/mnist.py", "evaluate/checks/model_metric.py",
            "execute/predictor.py", "execute/kernel/predict_server.py"} <= measurement
    assert not measurement & {"execute/runner.py", "execute/warmup.py", "report/html.py", "cli.py",
                              "report/templates/report.html.j2", "progress.py", "grade.py"}


def test_results_depend_on_what_scores_and_explains_them_not_on_the_report_or_the_command_line():
    scoring = covered(digests.scoring_files())
    assert {"grade.py", "rubric.py", "late.py", "harvest/diagnosis.py", "bands.py",
            "i18n.py"} <= scoring   # the feedback's words are in result.json
    assert not scoring & {"cli.py", "progress.py", "batch.py", "report/html.py", "report/templates/base.css.j2",
                          "execute/warmup.py", "execute/runner.py", "review/app.py"}
    report = covered(digests.files(digests.REPORT_CODE))
    assert {"report/html.py", "report/templates/base.css.j2", "report/templates/report.html.j2"} <= report


def test_every_concern_names_files_that_exist():
    for concern in (digests.EXECUTION_CODE, digests.MEASUREMENT_CODE, digests.REPORT_CODE, digests.NOT_SCORING):
        for name in concern:
            assert (digests.PACKAGE / name).exists(), name


@pytest.mark.slow
@pytest.mark.kernel
def test_a_new_template_renders_the_reports_again_without_running_or_loading_anything(tmp_path):
    copy = tmp_path / "code"
    shutil.copytree(digests.PACKAGE, copy / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    no_tensorflow = tmp_path / "no-tensorflow"
    for name in ("tensorflow", "keras", "tf_keras"):
        (no_tensorflow / name).mkdir(parents=True)
        (no_tensorflow / name / "__init__.py").write_text(f"raise ImportError('{name} imported by the grader')\n")
    rubric = tiny_assignment.write_assignment(tmp_path / "assignment")
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    tiny_assignment.write(submissions, "ana.ipynb", epochs=3)
    out = tmp_path / "out"

    def grade(*python_path):
        env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin",
               "PYTHONPATH": os.pathsep.join(map(str, [*python_path, copy]))}
        return subprocess.run([sys.executable, "-m", "grader", "grade", submissions, "--assignment", rubric,
                               "--out", out, "--seed", "5", "--lang", "en"], capture_output=True, text=True,
                              env=env, timeout=600, cwd=tmp_path)

    first = grade()
    assert first.returncode == 0, first.stderr
    saved = {name: (out / "ana" / name).stat().st_mtime_ns
             for name in ("execution.json", "measurements.json", "ana.ipynb", "result.json")}
    result = json.loads((out / "ana" / "result.json").read_text())
    assert_errors_only(result)   # ana trains for 3 epochs (seeded): Q4 and Q5 earn part of their points
    assert [(check["id"], check["status"]) for check in result["checks"]] == \
        [("Q1", "pass"), ("Q2", "pass"), ("Q4", "partial"), ("Q5", "partial")]
    assert json.loads((out / "ana" / "measurements.json").read_text())["entries"]
    template = copy / "grader" / "report" / "templates" / "report.html.j2"
    template.write_text(template.read_text().replace("</body>", "<p>a new template</p></body>"))

    again = grade(no_tensorflow)
    assert again.returncode == 0, again.stderr
    assert "a new template" in (out / "ana" / "report.html").read_text()
    assert {name: (out / "ana" / name).stat().st_mtime_ns for name in saved if name != "result.json"} == \
        {name: mtime for name, mtime in saved.items() if name != "result.json"}   # no notebook ran, nothing measured
    after = json.loads((out / "ana" / "result.json").read_text())
    assert after["fingerprint"]["report"] != result["fingerprint"]["report"]
    assert {k: v for k, v in after.items() if k != "fingerprint"} == {k: v for k, v in result.items()
                                                                       if k != "fingerprint"}
    assert "unchanged, result re-used" in again.stderr and "worker(s)" not in again.stderr

"""grader validate --junit-xml: what CI systems read, one testsuite per assignment, one testcase per check."""
import os
import subprocess
import sys
from xml.etree import ElementTree

import nbformat
import pytest

from grader.report.junit import write_junit
from grader.result import Check, Result

from .builders import FAST, check, question, rubric_toml, seven_bits


def reference(name: str, checks: list[Check], problems=()) -> Result:
    return Result("reference", name, sum(c.score for c in checks), sum(c.max_score for c in checks), 42, checks,
                  problems=list(problems), timings={"total": 3.25})


def test_one_suite_per_assignment_one_case_per_check(tmp_path):
    good = reference("binary-addition", [Check("Q1", "Q1", 1, 1, "pass"), Check("Q5", "Q5", 0, 2, "manual")])
    bad = reference("practica1", [Check("E1", "E1", 3, 3, "pass"),
                                  Check("E4", "E4", 1, 3, "partial", "mae = 0.2 on fresh data\x1b[0m; full at 0.05")],
                    problems=["The notebook passed its deadline of 600 s"])
    path = tmp_path / "out" / "junit.xml"
    write_junit([good, bad], path)
    root = ElementTree.parse(path).getroot()
    assert root.tag == "testsuites"
    suites = {suite.get("name"): suite for suite in root}
    assert list(suites) == ["binary-addition", "practica1"]
    assert (suites["binary-addition"].get("tests"), suites["binary-addition"].get("failures")) == ("2", "0")
    assert (suites["practica1"].get("tests"), suites["practica1"].get("failures")) == ("3", "2")
    assert suites["practica1"].find("properties/property").attrib == {"name": "seed", "value": "42"}
    cases = [(case.get("classname"), case.get("name"), case.find("failure"))
             for case in suites["practica1"].iter("testcase")]
    assert [(c, n) for c, n, _ in cases] == [("practica1", "E1"), ("practica1", "E4"), ("practica1", "problems")]
    assert cases[0][2] is None
    failure = cases[1][2]
    assert failure.get("type") == "partial" and failure.text == "mae = 0.2 on fresh data[0m; full at 0.05"
    assert cases[2][2].text == "The notebook passed its deadline of 600 s"
    assert all(case.find("failure") is None for case in suites["binary-addition"].iter("testcase"))


RUBRIC = rubric_toml("tiny-ci", question("Q1", seven_bits()), question("Q2", check("code_runs")), limits=FAST)


@pytest.mark.kernel
@pytest.mark.parametrize("answer, code, failing", [("127", 0, []), ("128", 1, ["Q1"])], ids=["full", "short"])
def test_validate_writes_junit_and_keeps_its_exit_code(tmp_path, answer, code, failing):
    md, cell = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    nbformat.write(nbformat.v4.new_notebook(cells=[md("**Q1** The largest 7-bit number?"), md(answer),
                                                   md("**Q2**"), cell("print(2 ** 7 - 1)")]),
                   tmp_path / "reference.ipynb")
    (tmp_path / "rubric.toml").write_text(RUBRIC)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "grader", "validate", "--assignment", str(tmp_path / "rubric.toml"),
                           "--junit-xml", str(tmp_path / "out" / "junit.xml")],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == code, done.stdout + done.stderr
    suite = ElementTree.parse(tmp_path / "out" / "junit.xml").getroot().find("testsuite")
    assert suite.get("name") == "tiny-ci"
    assert [case.get("name") for case in suite.iter("testcase")] == ["Q1", "Q2"]
    assert [case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None] == failing
    if failing:
        assert "You answered 128" in suite.find("testcase/failure").text   # the check's feedback

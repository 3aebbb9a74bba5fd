"""The suite's own rules (tests/conftest.py), run on a throwaway test file in a pytest of its own, and the
host-side checks of tests/expect.py."""
import os
import re
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from .expect import CGROUP_ROOT, grader_cgroups, sandbox_leftovers

REPO = Path(__file__).resolve().parent.parent
SAMPLE = '''
import os
from pathlib import Path

import pytest


def test_skipped_for_want_of_a_tool():
    pytest.skip("no such tool here")


@pytest.mark.skipif(True, reason="a condition that is never met here")
def test_skipped_by_a_mark():
    pass


@pytest.mark.root
def test_for_root():
    pass


@pytest.mark.nonroot
def test_for_a_user():
    pass


def test_the_cache_is_private():
    cache = Path(os.environ["XDG_CACHE_HOME"])
    assert cache.is_dir() and not cache.is_relative_to(Path.home() / ".cache")
'''


def run_sample(tmp_path, strict: bool, *options):
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    env = {**os.environ, "PYTHONPATH": str(REPO), "GRADER_STRICT_TESTS": "1" if strict else "0"}
    env.pop("XDG_CACHE_HOME", None)
    env.pop("PYTEST_ADDOPTS", None)  # .ci/run's -m 'not nonroot' is for the suite, not for this sample
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider", "-v",
                           "-W", "ignore::pytest.PytestUnknownMarkWarning", str(tmp_path / "test_sample.py"),
                           *options], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)


def outcomes(tmp_path, strict: bool) -> dict[str, str]:
    """Test name -> PASSED, SKIPPED or FAILED (a skip turned failure at set-up is reported as ERROR)."""
    run = run_sample(tmp_path, strict)
    found = {name: outcome.replace("ERROR", "FAILED")
             for name, outcome in re.findall(r"::(test_\w+) (PASSED|FAILED|SKIPPED|ERROR)", run.stdout)}
    assert len(found) == 5, run.stdout + run.stderr
    return found


MINE, OTHER = ("test_for_root", "test_for_a_user") if os.geteuid() == 0 else ("test_for_a_user", "test_for_root")


def test_a_skip_is_a_skip_unless_strict(tmp_path):
    assert outcomes(tmp_path, strict=False) == {
        "test_skipped_for_want_of_a_tool": "SKIPPED", "test_skipped_by_a_mark": "SKIPPED",
        MINE: "PASSED", OTHER: "SKIPPED", "test_the_cache_is_private": "PASSED"}


def test_strict_makes_every_skip_a_failure(tmp_path):
    assert outcomes(tmp_path, strict=True) == {
        "test_skipped_for_want_of_a_tool": "FAILED", "test_skipped_by_a_mark": "FAILED",
        MINE: "PASSED", OTHER: "FAILED", "test_the_cache_is_private": "PASSED"}


@pytest.mark.parametrize("strict", [True, False])
def test_the_reason_is_shown(tmp_path, strict):
    run = run_sample(tmp_path, strict, "-rA", "-k", "want_of")
    assert "no such tool here" in run.stdout
    assert ("GRADER_STRICT_TESTS=1 makes every skip a failure" in run.stdout) == strict


def test_what_a_batch_leaves_is_seen_on_the_host(tmp_path):
    scratch, predictor = tmp_path / "grader-job-x", tmp_path / "grader-predict-y"   # a kernel's, a predictor's
    scratch.mkdir()
    predictor.mkdir()
    sleeper = subprocess.Popen(["sleep", "60"], cwd=scratch)
    try:
        left = sandbox_leftovers(tmp_path, set(), grace=0)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert sorted(left[:2]) == [f"scratch folder {scratch}", f"scratch folder {predictor}"]
    assert left[2].startswith(f"process {sleeper.pid} ") and left[2].endswith(": sleep 60") and len(left) == 3
    scratch.rmdir()
    predictor.rmdir()
    assert sandbox_leftovers(tmp_path, set(), grace=0) == []


@pytest.mark.root
def test_a_grader_cgroup_counts_only_for_the_graders_named(tmp_path):
    """A cgroup left by one of the graders a test ran is seen; one left by another grader that is gone too
    (a test beside it killed it on purpose) is not that test's."""
    before = grader_cgroups()
    parent = CGROUP_ROOT / "pids" if (CGROUP_ROOT / "pids").is_dir() else CGROUP_ROOT
    finished = subprocess.Popen(["true"])
    finished.wait()
    mine = parent / f"grader-{os.getpid()}-{int(psutil.Process().create_time())}-suitetst"
    theirs = parent / f"grader-{finished.pid}-1-suitetst"
    mine.mkdir()
    theirs.mkdir()
    try:
        assert f"cgroup {mine}" in sandbox_leftovers(tmp_path, {os.getpid()}, before, grace=0)
        assert f"cgroup {theirs}" not in sandbox_leftovers(tmp_path, {os.getpid()}, before, grace=0)
        assert f"cgroup {theirs}" in sandbox_leftovers(tmp_path, {finished.pid}, before, grace=0)
    finally:
        mine.rmdir()
        theirs.rmdir()
    assert f"cgroup {mine}" not in sandbox_leftovers(tmp_path, {os.getpid()}, before, grace=0)

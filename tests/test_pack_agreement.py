"""grader check --pack agrees with grader grade on every public check of real notebooks and samples.

The real-world corpus of tests/real/ and three sample submissions (conftest's ``SAMPLES``) are graded by
the instructor's ``grader grade`` (conftest's ``graded_corpus``, which the corpus verdicts read too: the
reference measured on the run's own fresh data), then each executed notebook is checked again with the
assignment's pack alone (the reference's mean over the pack's seeds), as a student would, re-using the
execution: no notebook runs twice. Every public part must get the same status and points within 10 % of the part's
points; at a band's edge, where the two references put a threshold a little apart, pass and partial (or
partial and fail) with points that close agree too.
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader import rubric as rubrics

from .conftest import CORPUS_SEED
from .expect import assert_errors_only, failing_cells_only

CHECK_EACH = """
import sys
from grader.cli import main
pack, out, seed = sys.argv[1:4]
for notebook in sys.argv[4:]:
    assert main(["check", notebook, "--pack", pack, "--out", out, "--seed", seed, "--lang", "en"]) == 0, notebook
"""

pytestmark = [pytest.mark.slow, pytest.mark.kernel]


def grader(*args, env) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "grader", *map(str, args)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module", params=["binary-addition", "practica1"])
def both(request, graded_corpus, tmp_path_factory):
    """The instructor's results (conftest's ``graded_corpus``) and the pack's, for every notebook of tests/real/
    and the sample submissions of ``SAMPLES``."""
    assignment = request.param
    graded, root = graded_corpus / assignment, tmp_path_factory.mktemp(assignment)
    env = {"XDG_CACHE_HOME": str(graded_corpus / "cache"), "PATH": "/usr/bin:/bin"}   # the reference ran there
    grader("pack", "--assignment", assignment, "--out", root / "packs", "--seed", CORPUS_SEED, env=env)
    shutil.copytree(graded, root / "checked", ignore=shutil.ignore_patterns("*.csv", "*.html", ".grader"))
    notebooks = sorted((graded_corpus / "notebooks" / assignment).glob("*.ipynb"))
    checked = subprocess.run([sys.executable, "-c", CHECK_EACH, root / "packs" / f"{assignment}.pack",
                              root / "checked", str(CORPUS_SEED), *notebooks], capture_output=True, text=True, env=env)
    assert checked.returncode == 0, checked.stderr[-3000:]
    names = [path.stem for path in notebooks]
    for name in names:  # no notebook ran again: the instructor's execution was re-used
        assert (root / "checked" / name / "execution.json").read_bytes() == \
            (graded / name / "execution.json").read_bytes()
    return graded, root / "checked", assignment, names


def results(folder: Path, name: str) -> dict:
    return json.loads((folder / name / "result.json").read_text(encoding="utf-8"))


EDGES = ({"pass", "partial"}, {"partial", "fail"})


def agree(theirs: dict, mine: dict) -> bool:
    """Points within 10 % of the part's, and the same status, or the statuses either side of a band's edge."""
    close = abs(mine["score"] - theirs["score"]) <= 0.1 * theirs["max_score"]
    return close and (mine["status"] == theirs["status"] or {mine["status"], theirs["status"]} in EDGES)


def test_agreement_allows_a_band_edge_and_nothing_else():
    part = {"max_score": 2.0}
    assert agree({**part, "score": 2.0, "status": "pass"}, {**part, "score": 1.98, "status": "partial"})
    assert agree({**part, "score": 0.0, "status": "fail"}, {**part, "score": 0.1, "status": "partial"})
    assert not agree({**part, "score": 2.0, "status": "pass"}, {**part, "score": 1.7, "status": "partial"})
    assert not agree({**part, "score": 0.0, "status": "fail"}, {**part, "score": 0.0, "status": "error"})
    assert not agree({**part, "score": 2.0, "status": "pass"}, {**part, "score": 2.0, "status": "manual"})


def test_every_public_check_agrees(both):
    graded_folder, checked_folder, assignment, names = both
    compared, misses = 0, []
    for name in names:
        graded, checked = results(graded_folder, name), results(checked_folder, name)
        assert checked["fingerprint"] != graded["fingerprint"]               # graded again, with the pack
        for result in (graded, checked):  # an error on both sides is no agreement
            assert_errors_only(result, failing_cells_only(check["id"] for check in result["checks"]))
        for instructor, student in zip(graded["checks"], checked["checks"]):
            for theirs, mine in zip(instructor["details"], student["details"]):
                if theirs["visibility"] != "public":
                    continue
                compared += 1
                if not agree(theirs, mine):
                    misses.append(f"{name} {instructor['id']} {theirs['label']}: grade {theirs['score']} "
                                  f"{theirs['status']}, pack {mine['score']} {mine['status']} | {mine['feedback']}")
    print(f"{assignment}: {compared} public checks compared on {len(names)} notebooks")
    parts = sum(len(question.checks) for question in rubrics.load(assignment).questions)
    assert compared == parts * len(names) and not misses, "\n".join(misses)

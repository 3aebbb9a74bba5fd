"""Grade the real-world corpus of tests/real/ and hold every verdict to an instructor's.

tests/real/<assignment>/ holds real hand-ins, public notebooks written by other people and
variants of every section layout; tests/real/expected.toml holds, for each, the points a careful
instructor gives per question (a range) and which questions it explains in words. The corpus is
graded in one ``grader grade`` batch per assignment (two workers, a fixed seed, a fresh cache, so
the references run too), exactly as scripts/agreement.py does; a miss prints the grader's feedback.
"""
import os
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import agreement  # noqa: E402

CORPUS = agreement.expected()
SEED = 1


def automatic_points(assignment: str) -> dict[str, float]:
    """Question id -> the points the grader can give without a person (free text waits for review)."""
    rubric = tomllib.loads((REPO / "rubrics" / f"{assignment}.toml").read_text(encoding="utf-8"))
    return {question["id"]: sum(check["points"] for check in question["checks"] if check["kind"] != "free_text")
            for question in rubric["questions"]}


def test_every_notebook_has_a_verdict_for_every_question():
    on_disk = {(path.parent.name, path.stem) for path in (REPO / "tests" / "real").glob("*/*.ipynb")}
    assert on_disk == {(verdict["assignment"], name) for name, verdict in CORPUS.items()}
    assert len(CORPUS) >= 20
    for name, verdict in CORPUS.items():
        points, written = automatic_points(verdict["assignment"]), agreement.written_parts(verdict["assignment"])
        assert verdict["why"].strip(), name
        assert {key for key in verdict if key not in ("assignment", "why", "explained", "known_miss")} == set(points), name
        for question, (low, high) in ((q, verdict[q]) for q in points):
            assert 0 <= low <= high <= points[question], (name, question)
        assert set(verdict["explained"]) <= set(written), name


def test_every_public_notebook_names_its_source_and_licence():
    sources = (REPO / "tests" / "real" / "SOURCES.md").read_text(encoding="utf-8")
    for name in CORPUS:
        if name.startswith("pub_"):
            section = sources.split(f"`{name}.ipynb`", 1)[1].split("\n## ", 1)[0]
            for field in ("repository:", "path:", "commit:", "licence:", "copyright:", "trimmed:"):
                assert field in section, (name, field)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Both batches, graded once for the module in a cache of their own."""
    root = tmp_path_factory.mktemp("real")
    cache = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(root / "cache")
    try:
        seconds = {assignment: agreement.grade(assignment, root / assignment, SEED, workers=2)
                   for assignment in agreement.ASSIGNMENTS}
    finally:
        if cache is None:
            del os.environ["XDG_CACHE_HOME"]
        else:
            os.environ["XDG_CACHE_HOME"] = cache
    print("corpus graded in", ", ".join(f"{a} {s:.0f} s" for a, s in seconds.items()))
    return root


@pytest.mark.slow
@pytest.mark.kernel
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_notebook_gets_the_instructors_verdict(graded, name, request):
    """A notebook the grader is known to get wrong says why (``known_miss``); it must keep failing until fixed."""
    assignment = CORPUS[name]["assignment"]
    if CORPUS[name].get("known_miss"):
        request.applymarker(pytest.mark.xfail(reason=CORPUS[name]["known_miss"], strict=True))
    misses = [v.line() for v in agreement.verdicts(graded / assignment, assignment, {name: CORPUS[name]})
              if v.problem]
    assert not misses, "\n".join(misses)

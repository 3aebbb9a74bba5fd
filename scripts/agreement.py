"""How often the grader agrees with an instructor on the real-world corpus of tests/real/.

    .venv/bin/python scripts/agreement.py [--out DIR] [--seed N] [--workers N]

Grades tests/real/<assignment>/ with ``grader grade`` (one batch per assignment, side by
side, in a temporary cache) into DIR/<assignment>/, or, when DIR already holds those results, reads
them. Then prints the share of (notebook, question) verdicts that match
tests/real/expected.toml, per assignment and overall, and every miss with the grader's
feedback. tests/test_real_corpus.py checks the same verdicts.

A verdict matches when the question's points lie in the expected range and, for a
question with a written (free-text) part, the grader sent the notebook's own explanation
to human review exactly when the notebook wrote one.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "real"
ASSIGNMENTS = ("binary-addition", "practica1")


def expected() -> dict[str, dict]:
    return tomllib.loads((CORPUS / "expected.toml").read_text(encoding="utf-8"))


def grade(assignment: str, out: Path, seed: int, workers: int, source: Path | None = None) -> float:
    """``grader grade`` the corpus of ``assignment`` (or the notebooks in ``source``) into ``out``; returns the
    seconds it took."""
    started = time.monotonic()
    command = [sys.executable, "-m", "grader", "grade", str(source or CORPUS / assignment), "--assignment", assignment,
               "--out", str(out), "--seed", str(seed), "--workers", str(workers), "--lang", "en"]
    run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if run.returncode != 0:
        raise RuntimeError(f"grader grade {assignment} exited {run.returncode}:\n{run.stderr[-3000:]}")
    return time.monotonic() - started


def grade_all(out: Path, seed: int, workers: int, sources: dict[str, Path] | None = None) -> dict[str, float]:
    """:func:`grade` every assignment at once, each in ``out/<assignment>`` (from ``sources[assignment]`` when
    given); returns the seconds each took. The batches run side by side: each one's reference runs alone
    first, and its last notebooks leave a worker idle, so one batch fills the cores the other leaves."""
    with ThreadPoolExecutor(len(ASSIGNMENTS)) as pool:
        running = {assignment: pool.submit(grade, assignment, out / assignment, seed, workers,
                                           (sources or {}).get(assignment)) for assignment in ASSIGNMENTS}
        return {assignment: future.result() for assignment, future in running.items()}


@dataclass
class Verdict:
    notebook: str
    assignment: str
    question: str
    expected: list
    score: float | None
    feedback: str
    problem: str           # why it misses; "" when it matches

    def line(self) -> str:
        low, high = self.expected
        return (f"{self.notebook} {self.question}: {self.score} (expected {low:g}-{high:g}): {self.problem}"
                f" | {' '.join(self.feedback.split())[:400]}")


def written_parts(assignment: str) -> dict[str, int]:
    """Question id -> index (in rubric order) of its free-text check, for the questions that have one."""
    rubric = tomllib.loads((ROOT / "rubrics" / f"{assignment}.toml").read_text(encoding="utf-8"))
    return {question["id"]: index for question in rubric["questions"]
            for index, check in enumerate(question["checks"]) if check["kind"] == "free_text"}


def verdicts(results: Path, assignment: str, corpus: dict[str, dict]) -> list[Verdict]:
    """One verdict per (notebook, question) of ``assignment``, from the results in ``results``."""
    out, written = [], written_parts(assignment)
    for notebook, wanted in sorted(corpus.items()):
        if wanted["assignment"] != assignment:
            continue
        path = results / notebook / "result.json"
        checks = {c["id"]: c for c in json.loads(path.read_text())["checks"]} if path.is_file() else {}
        for question, bounds in wanted.items():
            if not isinstance(bounds, list) or question == "explained":
                continue
            check = checks.get(question)
            if check is None:
                out.append(Verdict(notebook, assignment, question, bounds, None, "", "no result"))
                continue
            score, problems = check["score"], []
            if not bounds[0] - 1e-9 <= score <= bounds[1] + 1e-9:
                problems.append("points out of range")
            if question in written:
                found = check["details"][written[question]]["status"] == "manual"
                if found != (question in wanted.get("explained", [])):
                    problems.append("the grader found an explanation the notebook does not write" if found else
                                    "the notebook's explanation did not reach review")
            out.append(Verdict(notebook, assignment, question, bounds, score, check.get("feedback", ""),
                               "; ".join(problems)))
    return out


def report(all_verdicts: list[Verdict]) -> str:
    lines = []
    for assignment in ASSIGNMENTS + ("overall",):
        group = [v for v in all_verdicts if assignment in ("overall", v.assignment)]
        if group:
            agree = sum(not v.problem for v in group)
            lines.append(f"{assignment}: {agree}/{len(group)} verdicts agree ({100 * agree / len(group):.0f}%)")
    misses = [v for v in all_verdicts if v.problem]
    if misses:
        lines.append(f"\nMisses ({len(misses)}):")
        lines += ["  " + v.line() for v in misses]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="results folder (graded into when it holds none)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    corpus = expected()
    out = args.out or Path(tempfile.mkdtemp(prefix="agreement-"))
    if not all((out / a / "gradebook.csv").is_file() for a in ASSIGNMENTS):
        os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="agreement-cache-")  # the references run afresh
        for assignment, seconds in grade_all(out, args.seed, args.workers).items():
            print(f"graded {assignment} in {seconds:.0f} s → {out / assignment}", file=sys.stderr)
    print(report([v for a in ASSIGNMENTS for v in verdicts(out / a, a, corpus)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Regrade: grading a class again, unchanged, and after a change of thresholds, against the first run.

Usage: .venv/bin/python bench/regrade.py [--students 4] [--epochs 40]

The first run grades everything from scratch (the reference solution
included, with an empty cache), with the default workers. Then, into the
same output folder: the same command again (nothing changed: every result
is re-used), a rubric whose band thresholds changed (the saved models are
re-evaluated on the same fresh data; no notebook runs), and --new-seed (new
fresh data; no notebook runs). Each is timed as a whole command.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import adder_class, adder_rubric, grade, results, table, wait_until_quiet


def main() -> None:
    root, rubric, submissions = adder_class("regrade", __doc__.splitlines()[0], epochs=40)
    cache, out = root / "cache", root / "out"
    steps = []

    def step(name, *options):
        wait_until_quiet()
        executions = {sid: (out / sid / "execution.json").stat().st_mtime_ns
                      for sid in results(out)} if out.exists() else {}
        timed = grade(submissions, rubric, out, cache, *options, timed=True)
        graded = results(out)
        ran = sum(1 for sid in graded if (out / sid / "execution.json").stat().st_mtime_ns != executions.get(sid))
        scores = " ".join(f"{r['score']:g}" for r in graded.values())
        steps.append((name, timed.wall, timed.cpu, ran, scores))
        print(f"  {name}: {timed.wall:.2f} s wall, {timed.cpu:.1f} s CPU, notebooks executed: {ran}, "
              f"scores {scores} ({timed.noise()})", flush=True)

    step("first run (from scratch)", "--seed", "1")
    step("same command again", "--seed", "1")
    rubric.write_text(adder_rubric(zero=0.6, full=0.9))
    step("thresholds changed", "--seed", "1")
    step("--new-seed", "--new-seed")
    first = steps[0][1]
    rows = [(name, f"{wall:.2f}", f"{cpu:.1f}", f"{wall / first:.1%}", ran, scores)
            for name, wall, cpu, ran, scores in steps]
    print()
    print(table(rows, ("run", "wall s", "CPU s", "of the first run", "notebooks executed", "scores")))
    print(f"\nregrade (target <= 5 % of the first run): unchanged {steps[1][1] / first:.1%}, "
          f"thresholds changed {steps[2][1] / first:.1%}, new seed {steps[3][1] / first:.1%}")


if __name__ == "__main__":
    main()

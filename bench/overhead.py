"""Overhead: `grader grade` on one notebook against executing it with plain nbclient.

Usage: .venv/bin/python bench/overhead.py [--epochs 200] [--repeats 2]

Two notebooks: one that trains a small recurrent model for about a minute,
and a trivial one. For each, the wall time of the whole `grader grade`
command (sandboxed kernel, model harvest, evaluation on fresh data,
reports) is divided by the wall time of a plain nbclient run of the same
notebook (no sandbox, no harvest, no evaluation), each as a fresh command:
once as nbclient runs it by default, and once with the TensorFlow thread
settings the grader gives its kernel (same threads, oneDNN off), which is
the like-for-like baseline: the difference is then only what the grader adds.
The reference solution is graded once before timing (the grader keeps it in
its cache: a class pays for it once), so what is timed is the per-submission
cost. Runs alternate (plain, grader, plain, grader, ...); medians are reported.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from grader.execute.warmup import cores

import common


def measure(root: Path, epochs: int, repeats: int, trivial: bool) -> dict:
    shutil.rmtree(root, ignore_errors=True)
    rubric, submissions = common.assignment(root, epochs, 1, trivial=trivial)
    cache = root / "cache"
    notebook = next(submissions.glob("*.ipynb"))
    common.grade(submissions, rubric, root / "warm", cache, "--seed", "1")  # fills the reference cache
    runs = {"plain": [], "alike": [], "grader": []}
    inner = []
    for i in range(repeats):
        runs["plain"].append(common.quietly(common.plain_nbclient, notebook))
        runs["alike"].append(common.quietly(common.plain_nbclient, notebook, common.same_threads(cores())))
        runs["grader"].append(common.quietly(common.grade_per_submission, submissions, rubric, root / f"out{i}", cache,
                                      "--seed", "1"))
        inner.append(next(iter(common.results(root / f"out{i}").values()))["timings"])
        print(f"  {'trivial' if trivial else 'training'} run {i + 1}: "
              + ", ".join(f"{name} {r[-1].wall:.2f} s wall / {r[-1].cpu:.2f} s CPU ({r[-1].noise()})"
                          for name, r in runs.items())
              + f"  (grader's own timings: {inner[-1]})", flush=True)
    score = next(iter(common.results(root / "out0").values()))
    return {**{f"{name}_wall": common.median(r.wall for r in timed) for name, timed in runs.items()},
            **{f"{name}_cpu": common.median(r.cpu for r in timed) for name, timed in runs.items()},
            "timings": inner, "score": f"{score['score']:g}/{score['max_score']:g}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=200,
                        help="training epochs of the long notebook (about 0.3 s each on a quiet machine)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    base = common.workdir("overhead")
    print(f"overhead: working in {base}", flush=True)
    long = measure(base / "training", args.epochs, args.repeats, trivial=False)
    small = measure(base / "trivial", 0, max(3, args.repeats), trivial=True)
    rows = []
    for name, m in (("trains (~1 min)", long), ("trivial", small)):
        rows.append((name, f"{m['plain_wall']:.2f}", f"{m['alike_wall']:.2f}", f"{m['grader_wall']:.2f}",
                     f"{m['grader_wall'] / m['alike_wall']:.3f}", f"{m['grader_wall'] - m['alike_wall']:+.2f}",
                     f"{m['alike_cpu']:.1f} / {m['grader_cpu']:.1f}", f"{m['grader_cpu'] / m['alike_cpu']:.3f}",
                     f"{m['grader_wall'] / m['plain_wall']:.3f}", m["score"]))
    print()
    print(common.table(rows, ("notebook", "nbclient s", "nbclient + grader's TF settings s", "grader grade s",
                       "ratio", "added s", "CPU s (nbclient / grader)", "CPU ratio",
                       "ratio to nbclient defaults", "score")))
    print(f"\noverhead ratio (target <= 1.05): {long['grader_wall'] / long['alike_wall']:.3f} wall, "
          f"{long['grader_cpu'] / long['alike_cpu']:.3f} CPU; "
          f"seconds added on a trivial notebook: {small['grader_wall'] - small['alike_wall']:.2f}")


if __name__ == "__main__":
    main()

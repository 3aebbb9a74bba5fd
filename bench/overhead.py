"""Overhead: `grader grade`, `grader check --assignment` and `grader check --pack` on one notebook, against nbclient.

Usage: .venv/bin/python bench/overhead.py [--epochs 200] [--repeats 2] [--cold]

Two notebooks, each a small binary-addition lab: a trivial TensorFlow one
(it imports Keras, builds a SimpleRNN and trains it for one epoch) and one
that trains for ``--epochs`` epochs (about a minute). Each command is timed
whole, as a fresh process with a fresh output folder, and without ``--seed``,
as a student's or an instructor's first run is: the run draws a new seed.
The baseline is plain nbclient executing the same notebook in a kernel with
the grader's TensorFlow settings (same threads, oneDNN off): no sandbox, no
harvest, no evaluation.

The grader's cache is warm (the reference notebook was executed once
before: a class pays for that once; its models are still measured on each
run's new seed) unless ``--cold`` also times the trivial notebook with an
empty cache, where the reference's notebook runs first. ``check --pack``
needs no reference. Runs alternate; medians are reported.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from grader.execute.warmup import cores  # noqa: E402

from common import (  # noqa: E402
    GRADER,
    ROOT,
    Timed,
    assignment,
    env,
    median,
    plain_nbclient,
    quietly,
    results,
    same_threads,
    table,
    workdir,
)

COMMANDS = ("nbclient", "grade", "check --assignment", "check --pack")


def grader(arguments: list[str], cache: Path, out: Path) -> Timed:
    """One whole grader command into a fresh ``out``; fails loudly when the grader does."""
    shutil.rmtree(out, ignore_errors=True)
    timed = Timed([*GRADER, *arguments, "--out", str(out), "--lang", "en"], env=env(cache), cwd=ROOT)
    if timed.run.returncode != 0:
        raise SystemExit(f"grader failed ({timed.run.returncode}):\n{timed.run.stderr[-3000:]}")
    timed.result = next(iter(results(out).values()))
    return timed


def run(command: str, root: Path, cache: Path, out: Path) -> Timed:
    notebook = root / "submissions" / "student01.ipynb"
    rubric = str(root / "rubric.toml")
    if command == "nbclient":
        return plain_nbclient(notebook, same_threads(cores()))
    if command == "grade":
        return grader(["grade", str(root / "submissions"), "--assignment", rubric, "--workers", "1"], cache, out)
    if command == "check --assignment":
        return grader(["check", str(notebook), "--assignment", rubric], cache, out)
    return grader(["check", str(notebook), "--pack", str(root / "pack" / "bench-adder.pack")], cache, out)


def prepare(root: Path, epochs: int) -> Path:
    """The assignment, its reference executed into a cache, and its student pack; returns the cache."""
    shutil.rmtree(root, ignore_errors=True)
    assignment(root, epochs, 1)
    cache = root / "cache"
    made = subprocess.run([*GRADER, "pack", "--assignment", str(root / "rubric.toml"), "--out", str(root / "pack"),
                           "--seed", "1"], env=env(cache), cwd=ROOT, capture_output=True, text=True)
    if made.returncode != 0:
        raise SystemExit(f"grader pack failed:\n{made.stderr[-3000:]}")
    return cache


def measure(root: Path, epochs: int, repeats: int, cold: bool) -> dict:
    warm = prepare(root, epochs)
    timed: dict[str, list[Timed]] = {command: [] for command in COMMANDS}
    for i in range(repeats):
        for command in COMMANDS:
            cache = warm
            if cold and command != "nbclient":
                cache = root / f"cold{i}"
                shutil.rmtree(cache, ignore_errors=True)
            timed[command].append(quietly(run, command, root, cache, root / f"out{i}"))
            last = timed[command][-1]
            print(f"  {root.name} run {i + 1}, {command}: {last.wall:.2f} s wall, {last.cpu:.1f} s CPU "
                  f"({last.noise()})" + (f"; grader's timings {last.result['timings']}, score "
                                         f"{last.result['score']:g}/{last.result['max_score']:g}"
                                         if command != "nbclient" else ""), flush=True)
    return {command: (median(t.wall for t in runs), median(t.cpu for t in runs)) for command, runs in timed.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=200,
                        help="training epochs of the long notebook (about 0.3 s each on a quiet machine)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--cold", action="store_true", help="also time the trivial notebook with an empty cache")
    args = parser.parse_args()
    base = workdir("overhead")
    print(f"overhead: working in {base}", flush=True)
    cases = [("trivial, warm cache", measure(base / "trivial", 1, args.repeats, cold=False))]
    if args.cold:
        cases.append(("trivial, cold cache", measure(base / "trivial-cold", 1, args.repeats, cold=True)))
    cases.append((f"{args.epochs} epochs, warm cache", measure(base / "training", args.epochs, args.repeats, False)))
    rows = []
    for name, m in cases:
        plain = m["nbclient"][0]
        for command in COMMANDS:
            wall, cpu = m[command]
            added = ("", "") if command == "nbclient" else (f"{wall - plain:+.2f}", f"{wall / plain:.3f}")
            rows.append((name if command == "nbclient" else "", command, f"{wall:.2f}", f"{cpu:.1f}", *added))
    print()
    print(table(rows, ("notebook", "command", "wall s", "CPU s", "added s", "ratio")))
    print("\ntargets: at most +1 s on the trivial notebook, a ratio of at most 1.05 on the long one")


if __name__ == "__main__":
    main()

"""Scaling: throughput of `grader grade` with 1 and 2 workers on this machine's cores.

Usage: .venv/bin/python bench/scaling.py [--work keras|python] [--students 8] [--epochs 40] [--repeats 1]

A class of small notebooks (each imports TensorFlow and trains a small
recurrent model for a few seconds) is graded from scratch with --workers 1,
then with --workers 2, into fresh output folders with the same seed (the
reference solution is graded once before timing, as a class pays for it
once). With one worker a notebook gets every core's TensorFlow threads; with
two, one thread each (cores // workers). Throughput is notebooks per minute
of wall time for the whole command. ``--work python`` makes notebooks that
compute in plain Python instead (no TensorFlow in the kernel or the
evaluation): what is left is the grader's own cost of running in parallel.

The ceiling: two of the same notebooks executed by plain nbclient (one
TensorFlow thread each), one after the other and side by side. What two
TensorFlow processes gain on this machine's two cores bounds what any
grader can gain; the grader's efficiency is its speed-up over that ceiling.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from grader.execute.warmup import cores

import common


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", choices=("keras", "python"), default="keras")
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    root = common.workdir(f"scaling-{args.work}")
    shutil.rmtree(root, ignore_errors=True)
    epochs = args.epochs if args.work == "keras" else max(1, args.epochs // 3)
    rubric, submissions = common.assignment(root, epochs, args.students, kind=args.work)
    cache = root / "cache"
    warm = root / "warm-submissions"
    warm.mkdir()
    common.trivial_notebook(warm / "nobody.ipynb")
    common.grade(warm, rubric, root / "warm", cache, "--seed", "1")  # the reference, once
    print(f"scaling: {args.students} {args.work} notebooks, {cores()} cores, working in {root}", flush=True)
    setups = {"1 worker (all cores' threads)": ["--workers", "1"],
              "1 worker, 1 thread": ["--workers", "1", "--threads", "1"],
              "2 workers (1 thread each)": ["--workers", "2"]}
    walls = {name: [] for name in setups}
    executes = {name: [] for name in setups}
    for i in range(args.repeats):
        for n, (name, options) in enumerate(setups.items()):
            out = root / f"out-{n}-{i}"
            timed = common.quietly(common.grade_per_submission, submissions, rubric, out, cache, "--seed", "1",
                                   *options)
            walls[name].append(timed.wall)
            graded = common.results(out)
            executes[name].append(common.median(r["timings"]["execute"] for r in graded.values()))
            scores = " ".join(f"{r['score']:g}" for r in graded.values())
            print(f"  {name}: {timed.wall:.1f} s wall, {timed.cpu:.1f} s CPU for {len(graded)} notebooks "
                  f"(median execution {executes[name][-1]:.1f} s; scores {scores}; {timed.noise()})",
                  flush=True)
    notebook = next(submissions.glob("*.ipynb"))

    def two(side_by_side: bool) -> common.Window:
        window = common.Window()
        if side_by_side:
            with ThreadPoolExecutor(2) as pool:
                runs = list(pool.map(lambda _: common.plain_nbclient(notebook, common.same_threads(1)), range(2)))
        else:
            runs = [common.plain_nbclient(notebook, common.same_threads(1)) for _ in range(2)]
        return window.close(sum(r.cpu for r in runs))

    serial, parallel = common.quietly(two, False), common.quietly(two, True)
    ceiling = serial.wall / parallel.wall
    print(f"  ceiling: two notebooks by plain nbclient, one after the other {serial.wall:.1f} s ({serial.noise()}), "
          f"side by side {parallel.wall:.1f} s ({parallel.noise()}): {ceiling:.2f}x", flush=True)
    wall = {name: common.median(values) for name, values in walls.items()}
    one, alike, two = wall.values()
    rows = [(name, f"{wall[name]:.1f}", f"{args.students / wall[name] * 60:.2f}",
             f"{common.median(executes[name]):.1f}",
             f"{one / wall[name]:.2f}", f"{alike / wall[name]:.2f}") for name in setups]
    print()
    print(common.table(rows, ("grader grade", f"wall s ({args.students} notebooks)", "notebooks / min",
                       "median execution s", "speed-up vs 1 worker", "vs 1 worker, 1 thread")))
    print(f"\nscaling, {args.work} notebooks (target >= 1.9): 2 workers = {one / two:.2f}x one worker using "
          "both cores' threads, "
          f"{alike / two:.2f}x one worker with one thread; the machine's ceiling for two such notebooks "
          f"side by side is {ceiling:.2f}x, so the grader reaches {one / two / ceiling:.0%} of it")


if __name__ == "__main__":
    main()

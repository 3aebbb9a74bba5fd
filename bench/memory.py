"""Memory: peak resident memory of the grader's own processes, per worker (not the students' kernels).

Usage: .venv/bin/python bench/memory.py [--students 4] [--epochs 20]

Grades a small class of notebooks that train Keras models, with --workers 1
(the driver grades in its own process) and --workers 2 (a driver, a helper
that carries progress events, and two worker processes). Every process of
the command is sampled every 0.1 s; its peak is the kernel's own high-water
mark (VmHWM). Sandboxed kernels (bwrap and ipykernel, and their children)
are the students' processes: shown for scale, not counted as the grader's.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import adder_class, grade, grade_per_submission, quietly, table

MB = 1024 * 1024


def classify(processes: dict[int, dict], root: int) -> dict[int, str]:
    """pid -> driver | worker | helper | kernel."""
    def is_kernel(pid):
        cmd = processes[pid]["cmdline"]
        return "ipykernel_launcher" in cmd or cmd.split(" ")[0].endswith("bwrap")

    def ancestors(pid):
        seen = []
        while pid in processes and pid not in seen:
            seen.append(pid)
            pid = processes[pid]["ppid"]
        return seen

    kinds = {}
    for pid in processes:
        chain = ancestors(pid)
        if any(is_kernel(p) for p in chain):
            kinds[pid] = "kernel"
        elif pid == root:
            kinds[pid] = "driver"
        else:
            kinds[pid] = "helper"
    for pid, kind in list(kinds.items()):
        if kind == "kernel":
            for ancestor in ancestors(pid)[1:]:
                if kinds.get(ancestor) == "helper":
                    kinds[ancestor] = "worker"   # a process that started a kernel grades submissions
    return kinds


def main() -> None:
    root, rubric, submissions = adder_class("memory", __doc__.splitlines()[0], epochs=20)
    cache = root / "cache"
    grade(submissions, rubric, root / "warm", cache, "--seed", "1", "--workers", "1")  # reference and data cached
    rows = []
    for workers in (1, 2):
        timed = quietly(grade_per_submission, submissions, rubric, root / f"out-{workers}", cache,
                        "--seed", "1", "--workers", str(workers))
        root_pid = min(timed.processes, key=lambda pid: 0 if timed.processes[pid]["ppid"] not in timed.processes else 1)
        kinds = classify(timed.processes, root_pid)
        by_kind: dict[str, list[int]] = {}
        for pid, kind in kinds.items():
            by_kind.setdefault(kind, []).append(timed.processes[pid]["peak"])
        for kind in ("driver", "worker", "helper", "kernel"):
            peaks = sorted(by_kind.get(kind, []), reverse=True)
            if not peaks:
                continue
            shown = peaks if kind != "kernel" else peaks[:1]
            rows.append((f"--workers {workers}", kind + ("" if kind != "kernel" else " (student, max of one)"),
                         len(peaks), " / ".join(f"{p / MB:.0f}" for p in shown)))
        own = sum(by_kind.get("driver", [])) + sum(by_kind.get("worker", [])) + sum(by_kind.get("helper", []))
        rows.append((f"--workers {workers}", "grader's processes, sum of peaks", "", f"{own / MB:.0f}"))
        print(f"  --workers {workers}: {timed.wall:.1f} s ({timed.noise()})", flush=True)
    print()
    print(table(rows, ("run", "process", "count", "peak RSS MB (each)")))
    print("\nIn --workers 1 the driver is the worker (it imports TensorFlow to evaluate); in --workers 2 the "
          "driver never imports TensorFlow and each worker does, once.")


if __name__ == "__main__":
    main()

"""Stability: how far a check's points move when the same saved models are measured on other fresh data.

Usage: .venv/bin/python bench/stability.py [--out DIR] [--seeds 5] [--workers 2] [--synthetic 20] [--worst 15]

Grades the sample submissions (submissions/<assignment>/) and the real-world
corpus (tests/real/<assignment>/) once, with seed 1, into DIR/<corpus>-<assignment>/
(DIR defaults to $BENCH_DIR/grader-bench-stability and is kept: a second run
executes no notebook). Then grades each folder again with seeds 101, 102, ...:
no notebook runs, every saved model (the reference's too) is measured on that
seed's fresh data. For every (submission, check) worth points, the spread of
its points over the new seeds is max - min; the check "moves" when the spread
exceeds 10 % of its points. Prints the share of checks that move (target: at
most 1 %), the same share among the checks measured on fresh data, and the
worst offenders.

The corpus has few models inside a band, so ``--synthetic N`` also measures N
hand-set classifiers spread across practica1's E1 band, in this process,
with a second, larger measurement when the first is too close to call and
without one (0 skips it). Their errors fall on the same strip of the same
fresh data, so they move together from one seed to the next: each is measured
on 5 groups of as many seeds (201, 202, ...), and each (model, group) counts
as one check.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import GRADER, ROOT, env, results, table, workdir  # noqa: E402

CORPORA = {"samples": ROOT / "submissions", "real": ROOT / "tests" / "real"}
ASSIGNMENTS = ("binary-addition", "practica1")
MEASURED_KINDS = ("model_metric", "model_comparison")   # the checks whose points come from fresh data
MOVES = 0.10                                            # of the check's points
GROUPS = 5                                              # of seeds, for the synthetic classifiers


def grade(source: Path, assignment: str, out: Path, cache: Path, seed: int, workers: int) -> None:
    command = [*GRADER, "grade", str(source), "--assignment", assignment, "--out", str(out), "--seed", str(seed),
               "--workers", str(workers), "--lang", "en"]
    run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env(cache))
    if run.returncode != 0:
        raise SystemExit(f"grader grade {source} failed ({run.returncode}):\n{run.stderr[-3000:]}")


def kinds(assignment: str) -> dict[tuple[str, int], str]:
    """(question id, check index) -> check kind, from the rubric."""
    rubric = tomllib.loads((ROOT / "rubrics" / f"{assignment}.toml").read_text(encoding="utf-8"))
    return {(question["id"], index): check["kind"] for question in rubric["questions"]
            for index, check in enumerate(question["checks"])}


def add(spreads: dict, key: tuple, kind: str, part: dict) -> None:
    """One seed's points of one check (a result's part), and what decided them."""
    entry = spreads.setdefault(key, {"kind": kind, "max": part["max_score"], "points": [], "values": []})
    entry["points"].append(part["score"])
    entry["values"].append(_decided_by(part))


def collect(out: Path, folder: str, assignment: str, spreads: dict) -> None:
    """Add this seed's points of every check worth points, except those waiting for a person."""
    kind_of = kinds(assignment)
    for submission, result in results(out).items():
        for check in result["checks"]:
            for index, part in enumerate(check.get("details", [])):
                if part["max_score"] > 0 and part["status"] != "manual":
                    add(spreads, (folder, submission, check["id"], index), kind_of.get((check["id"], index), "?"),
                        part)


def _decided_by(part: dict) -> str:
    """The measured value, its band and its sample size, in a few characters."""
    thresholds = part.get("thresholds") or {}
    metric = next(iter(thresholds), None)
    if metric is None:
        return ""
    band = thresholds[metric]
    samples = part.get("metrics", {}).get("n_samples", "?")
    return f"{part['metrics'].get(metric, float('nan')):.4g} in [{band['zero']:.3g}, {band['full']:.3g}] n={samples}"


def synthetic(per_group: int, count: int, folder: Path) -> dict[str, dict]:
    """practica1's E1 on hand-set classifiers whose accuracy spans its band, with and without a second,
    larger measurement when the first is too close to call: label -> spreads.

    Each says "sum above t", t from 1.02 to 1.26: accuracy about 1 - (t - 1), from 0.98 to 0.77. The
    reference says "sum above 0.99" (accuracy about 0.99).
    """
    from dataclasses import replace

    import keras
    import numpy as np

    from grader import rubric as rubrics
    from grader.evaluate import DataCache, evaluate
    from grader.evaluate.checks import model_metric
    from grader.harvest import Harvest
    from grader.harvest.models import ModelVersion

    rubric = rubrics.load("practica1")
    rubric = replace(rubric, questions=[q for q in rubric.questions if q.id == "E1"])
    folder.mkdir(parents=True, exist_ok=True)

    def classifier(threshold: float) -> Path:
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
        model.layers[0].set_weights([np.full((2, 1), 200, "float32"), np.array([-200 * threshold], "float32")])
        model.compile(loss="binary_crossentropy")
        path = folder / f"sum-above-{threshold:.4f}.keras"
        model.save(path)
        return path

    def measure(path: Path, seed: int, reference: dict | None):
        harvest = Harvest([], [], {}, [ModelVersion(1, 1, path, cell=0, names=["model"])], [])
        checks, values, _ = evaluate(harvest, rubric, DataCache(seed), "en", reference)
        return checks[0].details[0], values

    reference = classifier(0.99)
    students = [classifier(1.02 + 0.24 * i / max(1, count - 1)) for i in range(count)]
    found, more = {}, model_metric.MORE
    for label, factor in (("synthetic E1, one measurement", 1), ("synthetic E1, larger when too close", more)):
        model_metric.MORE = factor          # 1: more_samples finds no larger measurement to make
        spreads: dict = {}
        for seed in range(201, 201 + GROUPS * per_group):
            values = measure(reference, seed, None)[1]
            first = 201 + (seed - 201) // per_group * per_group
            for path in students:
                add(spreads, ("synthetic", f"{path.stem} (seeds {first}-{first + per_group - 1})", "E1", 0),
                    "model_metric", measure(path, seed, values)[0])
        found[label] = spreads
    model_metric.MORE = more
    return found


def settle(spreads: dict) -> None:
    for entry in spreads.values():
        entry["spread"] = max(entry["points"]) - min(entry["points"])
        entry["moves"] = entry["spread"] > MOVES * entry["max"] + 1e-9


def row(name: str, chosen: dict) -> tuple:
    moving = sum(e["moves"] for e in chosen.values())
    largest = max((e["spread"] / e["max"] for e in chosen.values()), default=0)
    return name, len(chosen), moving, f"{moving / max(1, len(chosen)):.1%}", f"{largest:.1%}"


def offenders(spreads: dict, seeds: int, worst: int) -> None:
    ranked = sorted(((e["spread"] / e["max"], key, e) for key, e in spreads.items() if e["spread"] > 0),
                    reverse=True)
    print(f"largest spreads over {seeds} seeds (of the check's points):" if ranked else "no check moved at all")
    for share, (folder, submission, question, index), entry in ranked[:worst]:
        points = " ".join(f"{p:g}" for p in entry["points"])
        print(f"  {share:5.1%} {folder}/{submission} {question}#{index} ({entry['kind']}, {entry['max']:g} pts): "
              f"points {points}")
        for value in dict.fromkeys(entry["values"]):
            print(f"        {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="work folder (kept between runs)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--synthetic", type=int, default=20, help="hand-set E1 classifiers (0: none)")
    parser.add_argument("--worst", type=int, default=15, help="offenders listed")
    args = parser.parse_args()
    root = args.out or workdir("stability")
    cache = root / "cache"
    seeds = range(101, 101 + args.seeds)
    folders = {f"{corpus}-{assignment}": (source / assignment, assignment)
               for corpus, source in CORPORA.items() for assignment in ASSIGNMENTS}
    for folder, (source, assignment) in folders.items():
        if not (root / folder / "gradebook.csv").is_file():
            print(f"grading {source} (seed 1: every notebook runs)", flush=True)
            grade(source, assignment, root / folder, cache, 1, args.workers)
    spreads: dict = {}
    for seed in seeds:
        started = time.monotonic()
        for folder, (source, assignment) in folders.items():
            grade(source, assignment, root / folder, cache, seed, args.workers)
            collect(root / folder, folder, assignment, spreads)
        print(f"seed {seed}: every saved model measured in {time.monotonic() - started:.0f} s", flush=True)
    settle(spreads)
    rows = [row("all checks worth points", spreads),
            row("checks measured on fresh data", {k: e for k, e in spreads.items() if e["kind"] in MEASURED_KINDS})]
    found = synthetic(args.seeds, args.synthetic, root / "synthetic") if args.synthetic else {}
    for label, synthetic_spreads in found.items():
        settle(synthetic_spreads)
        rows.append(row(label, synthetic_spreads))
    print()
    print(table(rows, ("checks", "count", f"move > {MOVES:.0%} of their points", "share", "largest spread")))
    print("\nthe corpus:")
    offenders(spreads, args.seeds, args.worst)
    for label, synthetic_spreads in found.items():
        print(f"\n{label}:")
        offenders(synthetic_spreads, args.seeds, 3)


if __name__ == "__main__":
    main()

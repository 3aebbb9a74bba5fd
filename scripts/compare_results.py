"""Compare the result.json files of two grader runs, apart from what may differ between runs.

    .venv/bin/python scripts/compare_results.py BEFORE AFTER

BEFORE and AFTER are two ``--out`` folders of ``grader grade`` (or folders holding several of them).
``timings`` and each cell's ``duration`` differ from run to run; ``fingerprint`` holds the cache
keys, which a change of how they are made changes on purpose. Everything else must be equal. Prints
each difference and exits 1 when there is one.

A refactoring's check: grade submissions/ with ``--seed 1 --workers 1`` before and after, each with
a fresh cache (``XDG_CACHE_HOME=$(mktemp -d)``), then run this on the two folders. A notebook that
trains without setting a seed (diego_broken, fran_typical, gema_broken of submissions/) trains other
models on every run, even with the same code: its differences say nothing about the change.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

IGNORED = ("timings", "fingerprint")


def results(folder: Path) -> dict[str, dict]:
    """Relative path -> result.json's content without the ignored keys."""
    found = {}
    for path in sorted(folder.rglob("result.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for cell in data.get("execution", []):
            cell.pop("duration", None)
        found[str(path.relative_to(folder))] = {k: v for k, v in data.items() if k not in IGNORED}
    return found


def differences(before, after, where: str = "") -> list[str]:
    """Each place where ``before`` and ``after`` differ, as ``where: before != after``."""
    if isinstance(before, dict) and isinstance(after, dict):
        return [line for key in sorted(set(before) | set(after), key=str)
                for line in differences(before.get(key, "<missing>"), after.get(key, "<missing>"), f"{where}.{key}")]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [line for i, (b, a) in enumerate(zip(before, after)) for line in differences(b, a, f"{where}[{i}]")]
    return [] if before == after else [f"{where}: {json.dumps(before)[:200]} != {json.dumps(after)[:200]}"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    before, after = results(args.before), results(args.after)
    if not before:
        print(f"{args.before}: no result.json", file=sys.stderr)
        return 1
    found = differences(before, after)
    for line in found:
        print(line)
    print(f"{len(before)} result(s) before, {len(after)} after: "
          + ("identical apart from timings, durations and fingerprint" if not found else f"{len(found)} difference(s)"))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

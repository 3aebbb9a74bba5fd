"""Read what the kernel recorded about its models.

The manifest was written inside the sandbox, so it is untrusted data: every
line is checked, anything malformed is ignored, and a version's file must be
a regular file named directly in the models folder (no path, no symlink).
It only says where models were seen; what a model is and what it can do is
read from the model file by the evaluator.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

MAX_MANIFEST_BYTES = 20 * 1024**2


@dataclass
class ModelVersion:
    """One saved state of one model object of the kernel."""
    model: int                      # the object's identity in the kernel
    version: int
    path: Path | None               # None when the kernel could not save it
    cell: int | None                # notebook cell after which it was saved
    names: list[str] = field(default_factory=list)    # variable names it was seen under
    seen_cells: list[int] = field(default_factory=list)
    fits: list[dict] = field(default_factory=list)    # training runs: cell, params, history
    flavour: str = "keras3"
    error: str = ""

    @property
    def label(self) -> str:
        return self.names[-1] if self.names else f"model #{self.model}"

    @property
    def code(self) -> Path | None:
        """The kernel's pickle of the model's own code (classes, Lambda functions), beside its file.

        Only the sandboxed predictor (:mod:`grader.execute.predictor`) ever opens it.
        """
        return self._beside(".code.pkl")

    @property
    def code_notes(self) -> Path | None:
        """The kernel's notes on the model's own code (sources, output shape): plain JSON."""
        return self._beside(".code.json")

    def _beside(self, suffix: str) -> Path | None:
        if self.path is None:
            return None
        path = self.path.with_name(self.path.stem + suffix)
        return path if path.is_file() and not path.is_symlink() else None


def manifest_records(models_dir: Path, cell_of_execution: dict[int, int]) -> Iterator[tuple[dict, int | None]]:
    """Each JSON object of the kernel's manifest with an ``execution_count``, and the cell it maps to."""
    manifest = Path(models_dir) / "manifest.jsonl"
    if not manifest.is_file():
        return
    with manifest.open("rb") as handle:
        raw = handle.read(MAX_MANIFEST_BYTES)
    for line in raw.decode("utf-8", "replace").splitlines():
        try:
            record = json.loads(line)
            count = int(record["execution_count"])
        except (ValueError, KeyError, TypeError, OverflowError, RecursionError):  # not JSON, not an object, bad numbers
            continue
        yield record, cell_of_execution.get(count)


def read_models(models_dir: Path, cell_of_execution: dict[int, int]) -> list[ModelVersion]:
    """Every saved model version, in the order they were saved."""
    names: dict[int, list[str]] = {}
    seen: dict[int, list[int]] = {}
    fits: dict[int, list[dict]] = {}
    versions: list[ModelVersion] = []
    for record, cell in manifest_records(models_dir, cell_of_execution):
        try:
            event, model = record.get("event"), int(record["model"])
        except (ValueError, KeyError, TypeError, OverflowError):
            continue
        if event == "seen":
            given = record.get("names")
            for name in (given if isinstance(given, list) else [])[:20]:
                if isinstance(name, str) and name[:100] not in names.setdefault(model, []):
                    names[model].append(name[:100])
            if cell is not None:
                seen.setdefault(model, []).append(cell)
        elif event == "fit":
            history, params = _history(record.get("history")), record.get("params")
            if history:
                fits.setdefault(model, []).append({"cell": cell, "params": params if isinstance(params, dict) else {},
                                                   "history": history})
        elif event == "version":
            number = sum(1 for v in versions if v.model == model) + 1
            versions.append(ModelVersion(model, number, _model_file(models_dir, record.get("file")), cell,
                                         list(names.get(model, [])), list(seen.get(model, [])),
                                         list(fits.get(model, [])),
                                         "legacy" if record.get("flavour") == "legacy" else "keras3",
                                         str(record.get("error", ""))[:500]))
    for version in versions:  # names and fits seen after a version was saved still describe it
        version.names = names.get(version.model, version.names)
        version.seen_cells = sorted(set(seen.get(version.model, [])))
        version.fits = [f for f in fits.get(version.model, []) if f["cell"] is None or version.cell is None
                        or f["cell"] <= version.cell]
    return versions


def _history(value) -> dict[str, list[float]] | None:
    """A training history as the kernel writes it (metric -> numbers), or None."""
    if not isinstance(value, dict):
        return None
    try:
        return {str(key): [float(x) for x in values][:1000] for key, values in value.items()
                if isinstance(values, list)} or None
    except (TypeError, ValueError):
        return None


def _model_file(models_dir: Path, name) -> Path | None:
    """The model file a record names: a regular file directly in the folder, by a bare name; else None."""
    if not isinstance(name, str) or "/" in name or name in ("", ".", ".."):
        return None
    path = Path(models_dir) / name
    return path if path.is_file() and not path.is_symlink() else None

"""What the saved models measured, remembered between runs of one submission.

A re-grade after a change of thresholds, bands or points asks the same model
files the same questions (the same data from the same seed, the same probe
inputs). Answered from here, it loads no model and imports no TensorFlow,
so it costs a fraction of a second per submission instead of seconds.

Entries are plain JSON, keyed by the model file's content and the question
asked; the whole memo is valid for one version of the evaluation code and
of the libraries that make predictions, and is dropped when either changes.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable

from ..atomic import write_text_atomic


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Memo:
    def __init__(self, path: Path | None = None, version: str = ""):
        self.path, self.version = path, version
        self.entries: dict[str, Any] = {}
        self.used: set[str] = set()
        if path is not None:
            try:
                saved = json.loads(Path(path).read_text(encoding="utf-8"))
                if saved.get("version") == version and isinstance(saved.get("entries"), dict):
                    self.entries = saved["entries"]
            except (OSError, ValueError, AttributeError):
                pass  # no memo yet, or a damaged one: measure again

    def get(self, key: list, compute: Callable[[], Any]) -> Any:
        """The remembered answer to ``key``, else ``compute()``'s, kept as JSON (so both read the same)."""
        name = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:32]
        self.used.add(name)
        if name not in self.entries:
            self.entries[name] = json.loads(json.dumps(compute(), default=_plain))
        return self.entries[name]

    def save(self) -> None:
        """Keep what this run used; answers for models or data no longer asked about are dropped."""
        if self.path is not None:
            entries = {name: value for name, value in self.entries.items() if name in self.used}
            write_text_atomic(Path(self.path), json.dumps({"version": self.version, "entries": entries}))


def _plain(value):
    """numpy scalars and arrays as plain numbers and lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON")

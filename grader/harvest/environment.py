"""What the kernel did about its environment: placeholders, backend, Keras 2 names.

The kernel writes these events to its manifest (see
:mod:`grader.execute.kernel.missing_modules` and ``keras_compat``). The
manifest is untrusted: each field is checked against what the kernel can
write, anything else is dropped, and every list is bounded.
"""
from __future__ import annotations

import re
from pathlib import Path

from .models import manifest_records

_DOTTED = re.compile(r"^[A-Za-z_][\w.]{0,99}$")
_USE = re.compile(r"^[\w.()\[\] =+\-*/%@&|^<>~,:]{1,200}$")
_NAME = re.compile(r"^[\w.()=, ]{1,100}$")
_BACKEND = re.compile(r"^[\w.-]{1,40}$")
MAX_ITEMS = 50


def read_environment(models_dir: Path, cell_of_execution: dict[int, int]) -> dict:
    """``{"placeholders": [...], "backend": {...}, "keras2_names": [...]}``, each empty when nothing happened.

    A placeholder is ``{"module", "imported_cells", "used_cells", "uses"}``; the
    backend ``{"asked", "source", "cell"}``; a Keras 2 name ``{"name", "now", "cells"}``.
    """
    placeholders: dict[str, dict] = {}
    names: dict[str, dict] = {}
    backend: dict = {}
    for record, cell in manifest_records(models_dir, cell_of_execution):
        event = record.get("event")
        if event == "placeholder":
            _placeholder(placeholders, record, cell)
        elif event == "keras2_name" and _matches(_NAME, record.get("name")) and _matches(_NAME, record.get("now")):
            if record["name"] in names or len(names) < MAX_ITEMS:
                entry = names.setdefault(record["name"], {"name": record["name"], "now": record["now"], "cells": []})
                _add(entry["cells"], cell)
        elif event == "backend" and not backend and _matches(_BACKEND, record.get("asked")) \
                and record.get("source") in ("KERAS_BACKEND", "keras.json"):
            backend = {"asked": record["asked"], "source": record["source"], "cell": cell}
    return {"placeholders": list(placeholders.values()), "backend": backend, "keras2_names": list(names.values())}


def _placeholder(placeholders: dict, record: dict, cell) -> None:
    module, action, what = record.get("module"), record.get("action"), record.get("what")
    if not _matches(_DOTTED, module) or action not in ("import", "use"):
        return
    if module not in placeholders and len(placeholders) >= MAX_ITEMS:
        return
    entry = placeholders.setdefault(module, {"module": module, "imported_cells": [], "used_cells": [], "uses": []})
    _add(entry["imported_cells" if action == "import" else "used_cells"], cell)
    if action == "use" and _matches(_USE, what) and what not in entry["uses"] and len(entry["uses"]) < 10:
        entry["uses"].append(what)


def _matches(pattern: re.Pattern, value) -> bool:
    return isinstance(value, str) and bool(pattern.match(value))


def _add(cells: list, cell) -> None:
    if isinstance(cell, int) and cell not in cells and len(cells) < MAX_ITEMS:
        cells.append(cell)

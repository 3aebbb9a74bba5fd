"""Plain words for cells that failed because of the environment, and for what the kernel adapted.

A failed cell's error (name and message) and source are matched against
known causes: code written for TensorFlow 1, a module grading does not have
(a placeholder that was used, or one that is not installed), Colab, a
download without network, a file from the student's own machine or Drive, a
removed Keras module, and a name left undefined by an earlier cell that
failed. The explanation goes on the cell's record in ``result.json`` and next
to the error in the report. Every text is in the catalog (:mod:`grader.i18n`), in Spanish and English.
"""
from __future__ import annotations

import ast
import dataclasses
import re

from .. import i18n
from ..execute.cells import sanitize
from ..result import CellRun

TF1_REMOVED = {
    "Session", "InteractiveSession", "placeholder", "placeholder_with_default", "sparse_placeholder", "contrib",
    "ConfigProto", "GPUOptions", "get_default_graph", "reset_default_graph", "global_variables_initializer",
    "local_variables_initializer", "initialize_all_variables", "variable_scope", "get_variable", "set_random_seed",
    "random_normal", "random_uniform", "truncated_normal", "log", "to_float", "to_int32", "layers", "Print",
    "py_func", "GraphKeys", "app", "flags", "logging", "GradientDescentOptimizer", "AdamOptimizer",
    "MomentumOptimizer", "RMSPropOptimizer", "Saver", "FileWriter", "merge_all", "get_session", "div", "assign",
    "trainable_variables", "global_variables", "sparse_softmax_cross_entropy_with_logits_v2",
}
_NO_ATTRIBUTE = re.compile(r"module '(tensorflow[\w.]*|keras\.backend|tf_keras\.backend)' has no attribute '(\w+)'")
_NETWORK = re.compile(r"URL fetch failure|urlopen error|Name or service not known|Temporary failure in name "
                      r"resolution|Network is unreachable|Failed to establish a new connection|getaddrinfo failed|"
                      r"No address associated with hostname|Max retries exceeded")
_LOCAL_PATH = re.compile(r"(/content/\S*|/?drive/My ?Drive\S*|[A-Za-z]:\\\S*|/Users/\S*|/home/\S*)")


def explain_runs(runs: list[CellRun], cells: list, lang: str) -> list[CellRun]:
    """``runs`` with an explanation on every failed cell whose cause is known."""
    explained = []
    for run in runs:
        text = explain(run, cells, runs, lang) if run.status == "error" else ""
        explained.append(dataclasses.replace(run, explanation=text) if text else run)
    return explained


def explain(run: CellRun, cells: list, runs: list[CellRun], lang: str) -> str:
    """Plain words for why the cell of ``run`` failed, or "" when the cause is not one we know."""
    found = _cause(run, cells, runs)
    if found is None:
        return ""
    key, values = found
    values = {k: i18n.text(v[0], lang, **v[1]) if isinstance(v, tuple) else v for k, v in values.items()}
    return i18n.text(key, lang, **values)


def _cause(run: CellRun, cells: list, runs: list[CellRun]) -> tuple[str, dict] | None:
    name, message = run.error_name, run.error_message
    if name == "NotAvailableWhenGrading":
        return _placeholder_cause(message)
    missing = re.search(r"No module named '([\w.]+)'", message)
    if missing:
        module = missing[1]
        if module.startswith(("tensorflow.contrib", "tensorflow.examples.tutorials")):
            return "diagnosis.tf1", {"name": module}
        if module.startswith("keras.wrappers"):
            return "diagnosis.keras_wrappers", {}
        if module.startswith("google.colab"):
            return "diagnosis.colab", {"what": module}
        return "diagnosis.not_installed", {"module": module.split(".")[0]}
    removed = _NO_ATTRIBUTE.search(message)
    if removed and removed[2] in TF1_REMOVED:
        module = removed[1].replace("._api.v2", "").replace("tensorflow", "tf", 1)
        return "diagnosis.tf1", {"name": f"{module}.{removed[2]}"}
    if "is not compatible with eager execution" in message or "graph is empty" in message.lower():
        return "diagnosis.tf1", {"name": "tf.Session / tf.placeholder (tf.compat.v1)"}
    if "expected ndim=3, found ndim=2" in message and "input_dim" in _source(cells, run.index):
        return "diagnosis.rnn_input_dim", {}
    if _NETWORK.search(message) or name in ("URLError", "gaierror", "ConnectionError", "MaxRetryError"):
        return "diagnosis.network", {}
    local = _LOCAL_PATH.search(message)
    if name in ("FileNotFoundError", "OSError", "NotFoundError") and local:
        return "diagnosis.local_file", {"path": local[1].strip("'\",")}
    undefined = re.fullmatch(r"name '(\w+)' is not defined", message)
    if name == "NameError" and undefined:
        cell = _failed_definer(undefined[1], run.index, cells, runs)
        if cell is not None:
            return "diagnosis.undefined_after_failure", {"name": undefined[1], "cell": cell + 1}
    return None


def _placeholder_cause(message: str) -> tuple[str, dict]:
    if "google.colab" in message:
        return "diagnosis.colab", {"what": message.split(":")[0].split(";")[0]}
    module = re.search(r"module ([\w.]+) is not available", message)
    line = re.search(r'its line "(.+?)" was skipped', message)
    why = ("diagnosis.skipped_line", {"line": line[1]}) if line else ("diagnosis.course_package", {})
    return "diagnosis.placeholder", {"module": module[1] if module else "?", "why": why}


def _source(cells: list, index: int) -> str:
    return str(cells[index].get("source", "")) if 0 <= index < len(cells) else ""


def _failed_definer(name: str, before: int, cells: list, runs: list[CellRun]) -> int | None:
    """The last code cell before ``before`` that binds ``name``, when it did not run cleanly."""
    status = {run.index: run.status for run in runs}
    for index in range(min(before, len(cells)) - 1, -1, -1):
        if cells[index].get("cell_type") == "code" and name in bound_names(_source(cells, index)):
            return index if status.get(index) not in ("ok", None) else None
    return None


def bound_names(source: str) -> set[str]:
    """Names a cell's code assigns, defines or imports (magics and shell lines aside)."""
    code, _ = sanitize(source)
    code = "\n".join(re.sub(r"^(\s*)[%!].*$", r"\1pass", line) for line in code.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
    return names


def environment_notes(environment: dict, lang: str) -> list[str]:
    """Sentences for the report: placeholders (imported where, used or not), the backend, Keras 2 names."""
    notes = []
    for entry in environment.get("placeholders", []):
        note = i18n.text("diagnosis.note_placeholder", lang, module=entry["module"],
                         imported=", ".join(str(c + 1) for c in entry["imported_cells"]) or "?")
        if entry["used_cells"]:
            note += i18n.text("diagnosis.note_used", lang, used=", ".join(str(c + 1) for c in entry["used_cells"]),
                              uses=", ".join(entry["uses"]))
        else:
            note += i18n.text("diagnosis.note_unused", lang)
        notes.append(note)
    backend = environment.get("backend") or {}
    if backend:
        notes.append(i18n.text("diagnosis.note_backend", lang, asked=backend["asked"], source=backend["source"]))
    names = environment.get("keras2_names", [])
    if names:
        cell = i18n.text("cell", lang)
        notes.append(i18n.text("diagnosis.note_keras2", lang, names=", ".join(
            f"{n['name']} → {n['now']}" + (f" ({cell} {', '.join(str(c + 1) for c in n['cells'])})"
                                          if n["cells"] else "") for n in names)))
    return notes

"""Plain words for cells that failed because of the environment, and for what the kernel adapted.

A failed cell's error (name and message) and source are matched against
known causes: code written for TensorFlow 1, a module grading does not have
(a placeholder that was used, or one that is not installed), Colab, a
download without network, a file from the student's own machine or Drive, a
removed Keras module, and a name left undefined by an earlier cell that
failed. The explanation goes on the cell's record in ``result.json`` and next
to the error in the report. Every text exists in Spanish and English.
"""
from __future__ import annotations

import ast
import dataclasses
import re

from ..execute.cells import sanitize
from ..result import CellRun

TEXTS = {
    "placeholder": (
        "El cuaderno usa {module}, que no está disponible al corregir: {why}. Las líneas pip install nunca se "
        "ejecutan al corregir; si el módulo hace falta, el profesor puede añadirlo a los paquetes del curso.",
        "The notebook uses {module}, which is not available when grading: {why}. Lines like pip install never "
        "run when grading; if the module is needed, the instructor can add it to the course packages."),
    "skipped_line": ("su línea «{line}» no se ejecutó", 'its line "{line}" did not run'),
    "course_package": ("es un paquete del curso que no se pudo instalar en la máquina de corrección",
                       "it is a course package that could not be installed on the grading machine"),
    "colab": (
        "Esto solo funciona dentro de Google Colab ({what}), y la corrección no se hace en Colab: no hay "
        "navegador, ni Google Drive, ni red. Los datos que use el cuaderno deben generarse en él.",
        "This only works inside Google Colab ({what}), and grading does not run in Colab: there is no browser, "
        "no Google Drive and no network. Data the notebook uses must be made by the notebook itself."),
    "tf1": (
        "Código escrito para TensorFlow 1, que la corrección no tiene: TensorFlow 2.21 eliminó {name}. En "
        "TensorFlow 2 no hay sesiones ni placeholders: el código se ejecuta al momento y los modelos se "
        "construyen y entrenan con Keras (model.compile, model.fit).",
        "Written for TensorFlow 1, which grading does not have: TensorFlow 2.21 removed {name}. TensorFlow 2 "
        "has no sessions or placeholders: code runs at once, and models are built and trained with Keras "
        "(model.compile, model.fit)."),
    "not_installed": (
        "El módulo {module} no está instalado en el entorno de corrección, y las líneas pip install nunca se "
        "ejecutan al corregir. Usa lo que ya hay (TensorFlow y Keras, NumPy, pandas, matplotlib, "
        "scikit-learn...) o pide al profesor que lo añada a los paquetes del curso.",
        "The module {module} is not installed in the grading environment, and lines like pip install never "
        "run when grading. Use what is there (TensorFlow and Keras, NumPy, pandas, matplotlib, scikit-learn...) "
        "or ask the instructor to add it to the course packages."),
    "keras_wrappers": (
        "keras.wrappers.scikit_learn ya no existe en Keras (ni en Keras 3 ni en tf-keras); el paquete scikeras "
        "lo sustituye.",
        "keras.wrappers.scikit_learn no longer exists in Keras (neither Keras 3 nor tf-keras); the scikeras "
        "package replaces it."),
    "rnn_input_dim": (
        "input_dim= en una capa recurrente es de Keras 2; en Keras 3 la capa espera secuencias: usa "
        "input_shape=(None, n) o keras.Input(shape=(None, n)) como primera capa.",
        "input_dim= on a recurrent layer is Keras 2; in Keras 3 the layer expects sequences: use "
        "input_shape=(None, n) or keras.Input(shape=(None, n)) as the first layer."),
    "network": (
        "La celda intentó usar Internet (una descarga), y la corrección no tiene red. Los datos deben generarse "
        "en el cuaderno o venir con la tarea.",
        "The cell tried to use the Internet (a download), and grading has no network. Data must be made in the "
        "notebook or come with the assignment."),
    "local_file": (
        "La celda lee un archivo de tu equipo, de Colab o de Google Drive ({path}) que no forma parte de la "
        "entrega: al corregir solo existe el cuaderno.",
        "The cell reads a file from your own machine, Colab or Google Drive ({path}) that is not part of the "
        "hand-in: when grading, only the notebook exists."),
    "undefined_after_failure": (
        "«{name}» no está definida porque la celda {cell}, que la define, falló o no se ejecutó: arregla esa "
        "celda primero.",
        '"{name}" is not defined because cell {cell}, which defines it, failed or did not run: fix that cell '
        "first."),
    # what the kernel adapted (the report's environment notes)
    "note_placeholder": (
        "{module} no está disponible al corregir y se importó como sustituto (celda {imported})",
        "{module} is not available when grading and was imported as a placeholder (cell {imported})"),
    "note_unused": ("; nunca se usó, así que no cuesta nada.", "; it was never used, so it costs nothing."),
    "note_used": ("; se usó en la celda {used} ({uses}), que falló por ello.",
                  "; it was used in cell {used} ({uses}), which failed because of it."),
    "note_backend": (
        "El cuaderno pidió el backend «{asked}» de Keras ({source}), que la corrección no tiene: se ejecutó "
        "con TensorFlow.",
        'The notebook asked for the Keras backend "{asked}" ({source}), which grading does not have: it ran on '
        "TensorFlow."),
    "note_keras2": ("Nombres de Keras 2 traducidos a los de hoy: {names}.",
                    "Keras 2 names mapped to today's: {names}."),
}

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
    values = {k: _text(v[0], lang).format(**v[1]) if isinstance(v, tuple) else v for k, v in values.items()}
    return _text(key, lang).format(**values)


def _cause(run: CellRun, cells: list, runs: list[CellRun]) -> tuple[str, dict] | None:
    name, message = run.error_name, run.error_message
    if name == "NotAvailableWhenGrading":
        return _placeholder_cause(message)
    missing = re.search(r"No module named '([\w.]+)'", message)
    if missing:
        module = missing[1]
        if module.startswith(("tensorflow.contrib", "tensorflow.examples.tutorials")):
            return "tf1", {"name": module}
        if module.startswith("keras.wrappers"):
            return "keras_wrappers", {}
        if module.startswith("google.colab"):
            return "colab", {"what": module}
        return "not_installed", {"module": module.split(".")[0]}
    removed = _NO_ATTRIBUTE.search(message)
    if removed and removed[2] in TF1_REMOVED:
        return "tf1", {"name": f"{removed[1].replace('._api.v2', '').replace('tensorflow', 'tf', 1)}.{removed[2]}"}
    if "is not compatible with eager execution" in message or "graph is empty" in message.lower():
        return "tf1", {"name": "tf.Session / tf.placeholder (tf.compat.v1)"}
    if "expected ndim=3, found ndim=2" in message and "input_dim" in _source(cells, run.index):
        return "rnn_input_dim", {}
    if _NETWORK.search(message) or name in ("URLError", "gaierror", "ConnectionError", "MaxRetryError"):
        return "network", {}
    local = _LOCAL_PATH.search(message)
    if name in ("FileNotFoundError", "OSError", "NotFoundError") and local:
        return "local_file", {"path": local[1].strip("'\",")}
    undefined = re.fullmatch(r"name '(\w+)' is not defined", message)
    if name == "NameError" and undefined:
        cell = _failed_definer(undefined[1], run.index, cells, runs)
        if cell is not None:
            return "undefined_after_failure", {"name": undefined[1], "cell": cell + 1}
    return None


def _placeholder_cause(message: str) -> tuple[str, dict]:
    if "google.colab" in message:
        return "colab", {"what": message.split(":")[0].split(";")[0]}
    module = re.search(r"module ([\w.]+) is not available", message)
    line = re.search(r'its line "(.+?)" was skipped', message)
    why = ("skipped_line", {"line": line[1]}) if line else ("course_package", {})
    return "placeholder", {"module": module[1] if module else "?", "why": why}


def _text(key: str, lang: str) -> str:
    return TEXTS[key][1 if lang == "en" else 0]


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
        note = _text("note_placeholder", lang).format(
            module=entry["module"], imported=", ".join(str(c + 1) for c in entry["imported_cells"]) or "?")
        if entry["used_cells"]:
            note += _text("note_used", lang).format(used=", ".join(str(c + 1) for c in entry["used_cells"]),
                                                    uses=", ".join(entry["uses"]))
        else:
            note += _text("note_unused", lang)
        notes.append(note)
    backend = environment.get("backend") or {}
    if backend:
        notes.append(_text("note_backend", lang).format(asked=backend["asked"], source=backend["source"]))
    names = environment.get("keras2_names", [])
    if names:
        notes.append(_text("note_keras2", lang).format(names=", ".join(
            f"{n['name']} → {n['now']}" + (f" ({_cells_word(lang)} {', '.join(str(c + 1) for c in n['cells'])})"
                                          if n["cells"] else "") for n in names)))
    return notes


def _cells_word(lang: str) -> str:
    return "cell" if lang == "en" else "celda"

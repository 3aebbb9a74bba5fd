"""Check your work from inside your notebook, with the assignment's pack (no solution needed)::

    from grader.student import Checker
    checker = Checker("binary-addition.pack")
    checker.check("Q4")      # one question
    checker.check_all()      # every question

The checker runs in your own kernel (Jupyter, VS Code, Colab) and does not
run the notebook again. It takes the models the kernel holds now (the same
way the grader's kernel finds them), places each in the notebook by the
cells that assign or train it (read from the notebook's file, with the
kernel's history ``In`` for what actually ran), and judges them with the
grader's own checks, bands and section rule on fresh data, against the
reference values in the pack. It shows each question's parts, points and
reasons as a table (HTML in Jupyter, plain text elsewhere).

What it cannot see, it says: a cell that would fail on a clean run, a model
made out of order or changed after its question. The grade always comes from
a clean run of the whole notebook.
"""
from __future__ import annotations

import ast
import html
import os
import secrets
import shutil
import tempfile
import weakref
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path

import numpy as np

from . import i18n
from .pack import read_pack

SUPPORTED_TENSORFLOW = ((2, 16), (2, 22))     # from 2.16 up to, not including, 2.22 (pyproject's extra)
# method calls that make or change a model in place (a cell that calls them on a name holds a new state of it)
CHANGES_MODEL = {"fit", "fit_generator", "train_on_batch", "compile", "add", "pop", "build", "set_weights",
                 "load_weights", "append", "extend", "insert", "update", "setdefault"}
BATCH = 1024

LIMITS = {
    "es": "Esta comprobación mide los modelos que tu kernel tiene ahora, con las celdas tal como se ejecutaron aquí. "
          "No puede ver una celda que falle al ejecutar el cuaderno desde cero (por ejemplo, un nombre que solo "
          "define una celda ya borrada), un modelo creado fuera de orden o cambiado después de su pregunta, ni lo que "
          "no esté guardado en el archivo del cuaderno. La nota sale siempre de una ejecución limpia del cuaderno "
          "entero (grader check, o la corrección del profesor).",
    "en": "This check measures the models your kernel holds now, with the cells as they ran here. It cannot see a "
          "cell that fails when the notebook runs from scratch (a name only a deleted cell defines, say), a model "
          "made out of order or changed after its question, nor what is not saved in the notebook's file. The grade "
          "always comes from a clean run of the whole notebook (grader check, or the instructor's grading).",
}


def tensorflow_note(lang: str) -> str:
    """A sentence when the installed TensorFlow is outside the range the grader supports, else ""."""
    for name in ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tensorflow-intel"):
        try:
            version = metadata.version(name)
            break
        except metadata.PackageNotFoundError:
            continue
    else:
        return ""
    numbers = tuple(int(part) for part in version.split(".")[:2] if part.isdigit())
    (low, high), shown = SUPPORTED_TENSORFLOW, "{}.{}".format
    if low <= numbers < high:
        return ""
    return i18n.text("student.tensorflow_unsupported", lang, version=version, shown=shown(*low),
                     shown2=shown(high[0], high[1] - 1))


# ---------------------------------------------------------------- where the notebook is, what ran

def find_notebook(given, namespace: dict) -> Path | None:
    """The notebook's file: ``given``, else VS Code's ``__vsc_ipynb_file__``, else Jupyter's ``JPY_SESSION_NAME``
    (a path; tried in the working folder too, by its name)."""
    for candidate in (given, namespace.get("__vsc_ipynb_file__"), os.environ.get("JPY_SESSION_NAME")):
        if not candidate:
            continue
        path = Path(candidate).expanduser()
        for place in (path, Path.cwd() / path.name):
            if place.suffix == ".ipynb" and place.is_file():
                return place
        if given:
            raise FileNotFoundError(f"{given}: no such notebook")
    return None


def _normalised_code(source: str, transform) -> set[str]:
    """A cell's code as the history may hold it: as written, and as IPython turns it into Python."""
    from .harvest.answers import normalised
    forms = {normalised(source)}
    try:
        forms.add(normalised(transform(source)))
    except Exception:  # a cell IPython cannot transform ran as written, if at all
        pass
    return forms


def executions(cells, history: list[str], transform) -> dict[int, list[int]]:
    """Code cell index -> the execution counts (positions in ``In``) at which its current code ran."""
    from .harvest.answers import normalised
    by_code: dict[str, list[int]] = {}
    for index, cell in enumerate(cells):
        if cell.cell_type == "code":
            for form in _normalised_code(cell.source, transform):
                by_code.setdefault(form, []).append(index)
    ran: dict[int, list[int]] = {}
    for count, source in enumerate(history):
        for index in by_code.get(normalised(source or ""), []) if count else []:
            ran.setdefault(index, []).append(count)
    return ran


@dataclass
class Touches:
    """What one code cell does to names: binds them (``x = ...``, ``for x``, ``x[0] = ...``) or changes what they
    hold in place (``x.fit(...)``)."""
    binds: set[str] = field(default_factory=set)
    changes: set[str] = field(default_factory=set)


def touches(source: str, transform) -> Touches:
    """The names a cell binds or changes, read from its code (ast); nothing when it is not Python."""
    found = Touches()
    try:
        tree = ast.parse(transform(source))
    except Exception:  # SyntaxError, or a cell IPython cannot transform
        return found
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.binds.add(node.id)
        elif isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.ctx, ast.Store):
            found.changes.add(_base_name(node))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CHANGES_MODEL:
            found.changes.add(_base_name(node.func.value))
    found.changes.discard("")
    return found


def _base_name(node) -> str:
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""


def base_name(variable: str) -> str:
    """``models`` for the kernel's ``models[0]``."""
    return variable.split("[", 1)[0]


# ---------------------------------------------------------------- the live models

@dataclass
class LiveModel:
    """One model object of the kernel, and the cells that made its present state."""
    model: object
    names: list[str]
    cells: list[int]                # notebook cells that bound or changed it, in the order they last ran
    placed_by: str                  # "history" | "code" (the history shows none of them) | "names" (no cells)


def place(names: list[str], cells, ran: dict[int, list[int]], touched: list[Touches]) -> tuple[list[int], str]:
    """The cells that made a model object's present state, by the latest time they ran; how that was found.

    The object is the one the last cell that bound one of its names made, as that cell last ran; every cell
    that changed it afterwards counts too. Without the history, every cell of the notebook that binds or
    changes the names counts, in the notebook's order.
    """
    bases = {base_name(name) for name in names}
    related = [i for i, t in enumerate(touched) if (t.binds | t.changes) & bases]
    if not related:
        return [], "names"
    timeline = sorted((count, i) for i in related for count in ran.get(i, []))
    if not timeline:
        return related, "code"
    binds = [position for position, (_, i) in enumerate(timeline) if touched[i].binds & bases]
    start = binds[-1] if binds else 0
    cells: list[int] = []
    for _, index in timeline[start:]:
        if index in cells:
            cells.remove(index)
        cells.append(index)
    return cells, "history"


class LivePredictor:
    """Calls the kernel's own model objects, for the models with code of their own (this is the student's own
    kernel: there is nothing to keep them away from). Same interface as the grader's sandboxed predictor."""

    def __init__(self, models_by_file: dict[Path, object]):
        self.models_by_file = models_by_file

    def predict(self, model_file: Path, code_file, flavour: str, x: np.ndarray) -> np.ndarray:
        model = self.models_by_file[Path(model_file)]
        return np.concatenate([np.asarray(model(x[i:i + BATCH], training=False), dtype="float32")
                               for i in range(0, len(x), BATCH)])

    def close(self) -> None:
        pass


# ---------------------------------------------------------------- the checker

class Checker:
    """Checks the notebook this kernel runs against an assignment's pack; see the module's documentation.

    ``notebook``: the notebook's file, when it cannot be found (Jupyter and VS Code tell it); ``lang``: ``es``
    or ``en``; ``seed``: of the fresh data (default: a new one for this checker, kept for its checks).
    """

    def __init__(self, pack, notebook=None, lang: str = "es", seed: int | None = None):
        self.pack = read_pack(pack)
        self.notebook, self.lang = notebook, lang
        self.seed = secrets.randbelow(2**31) if seed is None else int(seed)
        self._shell = _shell()
        from .execute.leftovers import scratch_prefix  # those of checkers whose kernel was killed go first
        self._folder = Path(tempfile.mkdtemp(prefix=scratch_prefix("checker")))
        weakref.finalize(self, shutil.rmtree, self._folder, True)
        self._saved: dict[int, tuple] = {}      # id of a model -> (model, fingerprint, file) of its last save here
                                                # (the model is kept, as the grader's kernel keeps it: ids stay unique)
        self._errors: dict[int, str] = {}       # execution count -> error, for the cells run since this checker
        from .evaluate import DataCache, Memo
        self._data, self._memo = DataCache(self.seed), Memo()  # an unchanged model is not measured twice
        if self._shell is not None:
            self._shell.events.register("post_run_cell", _errors_into(weakref.ref(self)))

    def check(self, question: str) -> "Report":
        """One question, by its id (``"Q4"``)."""
        ids = [q.id for q in self.pack.rubric.questions]
        if question not in ids:
            raise KeyError(f"{question!r} is not a question of {self.pack.assignment} (its questions: "
                           f"{', '.join(ids)})")
        return self._run([question])

    def check_all(self) -> "Report":
        """Every question of the pack."""
        return self._run([q.id for q in self.pack.rubric.questions])

    def _run(self, asked: list[str]) -> "Report":
        from .evaluate import evaluate
        from .harvest import Harvest
        from .harvest.answers import find_sections
        rubric = self.pack.rubric
        namespace = self._shell.user_ns if self._shell is not None else vars(__import__("__main__"))
        notes = [note for note in [tensorflow_note(self.lang)] if note]
        path = find_notebook(self.notebook, namespace)
        cells = _read_cells(path) if path else []
        if path is None:
            notes.append(i18n.text("student.notebook_file_not_found", self.lang))
        transform = self._shell.transform_cell if self._shell is not None else _transform
        history = list(namespace.get("In", []))[:-1] if self._shell is not None else []  # not this very cell
        ran = executions(cells, history, transform)
        touched = [touches(c.source, transform) if c.cell_type == "code" else Touches() for c in cells]
        live = self._live_models(namespace, cells, ran, touched)
        versions, by_file = self._versions(live)
        needed = _needed(rubric, asked)
        sections = find_sections(cells, {q.id: q.labels for q in rubric.questions}, rubric.handout)
        harvest = Harvest(cells, self._runs(cells, ran), sections, versions)
        checks, _, refused = evaluate(harvest, replace(rubric, questions=needed), self._data, self.lang,
                                      self.pack.reference, None, self._memo, LivePredictor(by_file))
        checks = [c for c in checks if c.id in asked]
        notes += refused + _placement_notes(self.lang, live, harvest.sections, rubric, checks, path is not None)
        return Report(checks, self.lang, self.seed, notes, str(path or ""))

    def _live_models(self, namespace, cells, ran, touched) -> list[LiveModel]:
        from .execute.kernel.grader_kernel import _find_models
        found: dict[int, LiveModel] = {}
        for name, model in _find_models(namespace):
            found.setdefault(id(model), LiveModel(model, [], [], "names")).names.append(name)
        for live in found.values():
            live.cells, live.placed_by = place(live.names, cells, ran, touched)
        return list(found.values())

    def _versions(self, live: list[LiveModel]):
        """One model version per cell that made the model's present state, all of them that state, saved once
        (again only when it changed) as the grader's kernel saves it; and each file's live model."""
        from .harvest.models import ModelVersion
        versions, by_file = [], {}
        for serial, item in enumerate(live, start=1):
            path = self._save(item.model, serial)
            if path is None:
                continue  # not built: no weights, nothing to judge (the grader's kernel saves none either)
            by_file[path] = item.model
            fits = _fits(item.model, item.cells[-1] if item.cells else None)
            for number, cell in enumerate(item.cells or [None], start=1):
                versions.append(ModelVersion(id(item.model), number, path, cell, list(item.names), fits,
                                             "legacy" if _legacy(item.model) else "keras3"))
        return versions, by_file

    def _save(self, model, serial: int) -> Path | None:
        from .execute.kernel.grader_kernel import _fingerprint, _own_code, _save, _save_code
        try:
            fingerprint = _fingerprint(model)
        except Exception:
            return None
        saved = self._saved.get(id(model))
        if saved and saved[1] == fingerprint:
            return saved[2]
        stem = str(self._folder / f"model-{serial}-{len(self._saved) + 1}")
        code = _own_code(model)
        path = self._folder / _save(model, stem, _legacy(model), own_code=bool(code))
        if code:
            _save_code(model, code, stem)
        self._saved[id(model)] = (model, fingerprint, path)
        return path

    def _runs(self, cells, ran: dict[int, list[int]]):
        """How each code cell ran in this kernel, as the grader records it for a clean run."""
        from .execute.cells import sanitize
        from .result import CellRun
        runs = []
        for index, cell in enumerate(cells):
            if cell.cell_type != "code":
                continue
            source, skipped = sanitize(cell.source)
            if all(line.strip() in ("", "pass") for line in source.splitlines()):
                runs.append(CellRun(index, "skipped" if skipped else "ok"))
            elif index not in ran:
                runs.append(CellRun(index, "not_run", error_message=i18n.text("student.not_run_as_it_is", self.lang)))
            else:
                error = self._errors.get(ran[index][-1], "")
                runs.append(CellRun(index, "error" if error else "ok", error_name=error))
        return runs


def _errors_into(checker):
    """A hook that notes the cells that fail into the ``checker`` (a weak reference: a checker made again must
    not live on, with its models, in IPython's events)."""
    def after_cell(result) -> None:
        error = result.error_in_exec or result.error_before_exec
        if checker() is not None and error is not None and result.execution_count:
            checker()._errors[result.execution_count] = type(error).__name__
    return after_cell


def _shell():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _transform(source: str) -> str:
    from IPython.core.inputtransformer2 import TransformerManager
    return TransformerManager().transform_cell(source)


def _legacy(model) -> bool:
    from .execute.kernel.grader_kernel import _legacy as legacy
    return legacy(model)


def _read_cells(path: Path) -> list:
    from .grade import read_notebook
    notebook, _ = read_notebook(path)
    return list(notebook.cells) if notebook is not None else []


def _fits(model, cell) -> list[dict]:
    """The model's last training history (the kernel keeps only the last ``fit``'s), as the grader records it."""
    history = getattr(model, "history", None)
    values = getattr(history, "history", None)
    if not isinstance(values, dict) or not values:
        return []
    params = {k: v for k, v in (getattr(history, "params", None) or {}).items() if isinstance(v, (int, float, str))}
    return [{"cell": cell, "params": params, "history": {str(k): [float(x) for x in v] for k, v in values.items()}}]


def _needed(rubric, asked: list[str]) -> list:
    """The asked questions and those whose models they exclude (``exclude``), in the rubric's order."""
    needed, todo = set(), list(asked)
    while todo:
        qid = todo.pop()
        if qid not in needed:
            needed.add(qid)
            todo += [q for check in rubric.question(qid).checks for q in check.options.get("exclude", [])]
    return [q for q in rubric.questions if q.id in needed]


def _measured(rubric, checks) -> dict[str, list[str]]:
    """Question id -> the variable names of the models its parts called on data (measured or compared)."""
    from .evaluate.checks import declared
    found: dict[str, list[str]] = {}
    for check in checks:
        for spec, detail in zip(rubric.question(check.id).checks, check.details):
            model = detail.get("model") or {} if declared(spec.kind).calls_model else {}
            names = [model.get("name")] + [row.get("name") for row in model.get("compared", [])]
            found.setdefault(check.id, []).extend(name for name in names if name)
    return found


def _placement_notes(lang: str, live: list[LiveModel], sections: dict, rubric, checks, found: bool) -> list[str]:
    """What the placement of the measured models could not settle: no cell of theirs in the history, cells run
    out of order, a change after the question."""
    by_label = {item.names[-1]: item for item in live}
    notes = []
    for qid, labels in _measured(rubric, checks).items():
        section = sections.get(qid)
        for label in dict.fromkeys(labels):
            item = by_label.get(label)
            if item is None:
                continue
            if found and item.placed_by == "code":
                notes.append(i18n.text("student.not_run_as_saved", lang, qid=qid, label=label))
            if item.placed_by == "history" and item.cells != sorted(item.cells):
                order = ", ".join(str(i + 1) for i in item.cells)
                notes.append(i18n.text("student.cells_out_of_order", lang, qid=qid, label=label, order=order))
            later = [i for i in item.cells if section is not None and i >= section.end]
            if later and any(i < section.end for i in item.cells):
                notes.append(i18n.text("student.changed_after_question", lang, qid=qid, label=label,
                                       later=later[-1] + 1))
    return notes


# ---------------------------------------------------------------- what the student sees

@dataclass
class Report:
    """The checked questions: a table in Jupyter (``_repr_html_``), plain text elsewhere."""
    checks: list
    lang: str
    seed: int
    notes: list[str]
    notebook: str

    @property
    def points(self) -> dict[str, float]:
        return {check.id: check.score for check in self.checks}

    def _status(self, status: str) -> str:
        return i18n.text(status, self.lang)

    def __str__(self) -> str:
        lines = []
        for check in self.checks:
            lines.append(f"{check.id} {check.title}: {check.score:g}/{check.max_score:g} {self._status(check.status)}")
            lines += [f"  - {d['label']}: {d['score']:g}/{d['max_score']:g} {self._status(d['status'])}. "
                      f"{d.get('feedback', '')}" for d in check.details]
        lines += [f"! {note}" for note in self.notes] + [LIMITS[self.lang], self._footer()]
        return "\n".join(lines)

    __repr__ = __str__

    def _footer(self) -> str:
        return i18n.text("student.fresh_data_of_seed", self.lang, seed=self.seed) + \
            (f" {self.notebook}" if self.notebook else "")

    def _repr_html_(self) -> str:
        rows = []
        for check in self.checks:
            rows.append(f"<tr><th>{html.escape(check.id)}</th><th>{html.escape(str(check.title))}</th>"
                        f"<th>{check.score:g} / {check.max_score:g}</th><th>{self._status(check.status)}</th>"
                        f"<th></th></tr>")
            rows += [f"<tr><td></td><td>{html.escape(str(d['label']))}</td><td>{d['score']:g} / {d['max_score']:g}</td>"
                     f"<td>{self._status(d['status'])}</td><td>{html.escape(d.get('feedback', ''))}</td></tr>"
                     for d in check.details]
        head = "".join(f"<th>{i18n.text(key, self.lang)}</th>" for key in ("question", "parts", "points", "status",
                                                                        "reason"))
        notes = "".join(f"<li>{html.escape(note)}</li>" for note in self.notes)
        return (f"<table><tr>{head}</tr>{''.join(rows)}</table>" + (f"<ul>{notes}</ul>" if notes else "")
                + f"<p><small>{html.escape(LIMITS[self.lang])} {html.escape(self._footer())}</small></p>")

"""Placeholders for modules that grading does not have, in the student's kernel.

Runs inside the kernel and imports nothing from ``grader``. A notebook's
``pip install d2l`` line never runs when grading, and Colab is never there;
without help, ``from d2l import tensorflow as d2l`` would fail and take the
rest of its cell (``import numpy as np`` below it) down with it. So the
modules the grader names (those of skipped pip lines, course packages that
could not be installed, ``google.colab``) import as placeholders when they
are still absent: the finder sits at the END of ``sys.meta_path``, after every
real one. Attribute access gives further placeholders; the first real use (a
call, arithmetic, iteration, ``with``, a base class...) raises
:class:`NotAvailableWhenGrading`, naming the module and why it is missing.

A missing import inside a ``try`` whose handler would catch ImportError is
feature detection: in that cell the module is never a placeholder, so the
handler runs as the student meant it to.
"""
from __future__ import annotations

import ast
import importlib.abc
import importlib.machinery
import sys
import types

COLAB = "google.colab"
COLAB_ACTIONS = {
    "google.colab.files.upload": "asks the person at the browser to choose files to upload",
    "google.colab.files.download": "sends a file to the person's browser",
    "google.colab.drive.mount": "connects the student's Google Drive to the Colab session",
}
_CATCHING = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}
_USES = {  # special methods whose call is a real use of the object, and how the use reads
    "__call__": "{}()", "__iter__": "iter({})", "__len__": "len({})", "__getitem__": "{}[...]",
    "__setitem__": "{}[...] = ...", "__delitem__": "del {}[...]", "__contains__": "... in {}",
    "__bool__": "bool({})", "__int__": "int({})", "__float__": "float({})", "__index__": "{} as an index",
    "__enter__": "with {}", "__exit__": "with {}", "__await__": "await {}", "__fspath__": "{} as a path",
    "__mro_entries__": "class ...({})", "__array__": "numpy.array({})",
    "__lt__": "{} < ...", "__le__": "{} <= ...", "__gt__": "{} > ...", "__ge__": "{} >= ...",
    "__neg__": "-{}", "__pos__": "+{}", "__abs__": "abs({})", "__invert__": "~{}",
    **{f"__{op}__": f"{{}} {sign} ..." for op, sign in (
        ("add", "+"), ("sub", "-"), ("mul", "*"), ("matmul", "@"), ("truediv", "/"), ("floordiv", "//"),
        ("mod", "%"), ("pow", "**"), ("and", "&"), ("or", "|"), ("xor", "^"), ("lshift", "<<"), ("rshift", ">>"))},
    **{f"__r{op}__": f"... {sign} {{}}" for op, sign in (
        ("add", "+"), ("sub", "-"), ("mul", "*"), ("matmul", "@"), ("truediv", "/"), ("floordiv", "//"),
        ("mod", "%"), ("pow", "**"), ("and", "&"), ("or", "|"), ("xor", "^"))},
}


class NotAvailableWhenGrading(ImportError):
    """A placeholder module was really used."""


class Placeholder:
    """Anything reached through a placeholder module, e.g. ``d2l.tensorflow.plot``."""

    def __init__(self, path: str, finder: "MissingModuleFinder"):
        object.__setattr__(self, "_grader_path", path)
        object.__setattr__(self, "_grader_finder", finder)

    def __getattr__(self, name):
        if name.startswith("_"):  # dunders, IPython's _repr_*_ probes: no such attribute
            raise AttributeError(name)
        return Placeholder(f"{self._grader_path}.{name}", self._grader_finder)

    def __repr__(self):
        return f"<{self._grader_path}: not available when grading>"


def _fail_on(method: str):
    def use(self, *args, **kwargs):
        raise self._grader_finder.used(self._grader_path, _USES[method].format(self._grader_path))
    use.__name__ = method
    return use


for _method in _USES:
    setattr(Placeholder, _method, _fail_on(_method))


class PlaceholderModule(types.ModuleType):
    """A module that grading does not have; its attributes are placeholders."""

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return Placeholder(f"{self.__name__}.{name}", self.__grader_finder__)


class MissingModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """The last finder: a named module nobody else found becomes a placeholder.

    ``reasons`` maps a module name (``d2l``, ``google.colab``) to the pip line
    that would have installed it, or "" for a course package that could not
    be installed; its submodules are placeholders too. ``record`` receives a
    dict for the kernel's manifest on each import and each use.
    """

    def __init__(self, reasons: dict[str, str], record):
        # a package that is really here (numpy of "pip install numpy==1.0") is never stood in for
        self.reasons = {key: why for key, why in reasons.items()
                        if "." in key or importlib.machinery.PathFinder.find_spec(key) is None}
        self.record = record
        self.detected: set[str] = set()   # looked for by the running cell's feature detection: no placeholder

    def key_of(self, name: str) -> str | None:
        return next((key for key in self.reasons if name == key or name.startswith(key + ".")), None)

    def find_spec(self, fullname, path, target=None):
        key = self.key_of(fullname)
        if key is None or key in self.detected:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec):
        module = PlaceholderModule(spec.name)
        module.__grader_finder__ = self
        return module

    def exec_module(self, module):
        self.record({"event": "placeholder", "action": "import", "module": self.key_of(module.__name__),
                     "what": module.__name__})

    def used(self, path: str, use: str) -> NotAvailableWhenGrading:
        """The error for the first real use of ``path``, recorded for the manifest."""
        key = self.key_of(path) or path
        self.record({"event": "placeholder", "action": "use", "module": key, "what": use})
        action = next((what for name, what in COLAB_ACTIONS.items() if path == name), "")
        if action:
            return NotAvailableWhenGrading(f"{path}() {action}; that is not possible when grading "
                                           f"(no Colab, no browser, no network).")
        if key == COLAB:
            why = "it exists only inside Google Colab, and grading does not run in Colab"
        elif self.reasons.get(key):
            why = f'its line "{self.reasons[key]}" was skipped: notebooks never install packages when graded'
        else:
            why = "it is a course package that could not be installed on the grading machine"
        return NotAvailableWhenGrading(f"{use}: module {key} is not available when grading ({why}).")

    def before_cell(self, source: str) -> None:
        """For this cell, turn off the placeholders of modules that its code imports under feature detection."""
        names = feature_detected(source)
        self.detected = {key for key in self.reasons for name in names
                         if key == name or key.startswith(name + ".") or name.startswith(key + ".")}
        for name, module in list(sys.modules.items()):
            if isinstance(module, PlaceholderModule) and self.key_of(name) in self.detected:
                del sys.modules[name]   # a second import must look again, and fail


def install(reasons: dict[str, str], record) -> MissingModuleFinder:
    """Append the placeholder finder to ``sys.meta_path`` (after every real finder)."""
    finder = MissingModuleFinder(reasons, record)
    sys.meta_path.append(finder)
    return finder


def feature_detected(source: str) -> set[str]:
    """Modules the code imports inside a ``try`` whose handler catches ImportError (or broader)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))) and any(map(_catches, node.handlers)):
            for statement in node.body:
                names |= _imports(statement)
    return names


def _catches(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(getattr(kind, "id", getattr(kind, "attr", None)) in _CATCHING for kind in kinds)


def _imports(statement: ast.AST) -> set[str]:
    """Modules imported by ``statement``: import statements and ``importlib.import_module("x")`` calls."""
    names = set()
    for node in ast.walk(statement):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
              in ("import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            names.add(node.args[0].value)
    return names

"""Old Keras code on today's Keras, in the student's kernel.

Runs inside the kernel and imports nothing from ``grader``; it never imports
keras itself (the hooks run when the notebook does). Each mapping used is
reported through ``record`` for the kernel's manifest.

- Backend: a notebook that asks for a Keras backend this machine lacks
  (``KERAS_BACKEND=jax`` or ``torch``, or ``keras.json`` under ``KERAS_HOME``)
  gets TensorFlow; the variable is fixed at the moment ``keras`` is first
  imported.
- Keras 2 names that moved: ``keras.utils.np_utils``, ``keras.layers.core``,
  ``keras.layers.recurrent`` (and the other ``keras.layers.*`` modules of
  Keras 2) import as today's ``keras.utils`` / ``keras.layers``;
  ``Model.predict_classes``, ``fit_generator``, ``evaluate_generator`` and
  ``predict_generator`` exist again; optimizers take ``lr=`` (now
  ``learning_rate=``) and ``decay=`` (now an ``InverseTimeDecay`` schedule,
  which computes what Keras 2's ``decay`` did). Under tf-keras the same
  names are mapped where tf-keras lacks them too.
"""
from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import inspect
import json
import os
import sys
import types

import import_hooks

BACKEND_MODULES = {"jax": "jax", "torch": "torch", "tensorflow": "tensorflow", "numpy": "numpy",
                   "openvino": "openvino"}
MOVED = {"utils.np_utils": "utils", **{f"layers.{old}": "layers" for old in (
    "core", "recurrent", "convolutional", "pooling", "embeddings", "normalization", "merge",
    "advanced_activations", "noise", "wrappers")}}
_GENERATOR_ONLY = ("workers", "use_multiprocessing", "max_queue_size")


def install(record) -> None:
    """Fix the backend before Keras loads, and map Keras 2 names once it has."""
    import_hooks.on_import("keras", before=lambda: fix_backend(record))
    for name in ("keras", "tf_keras"):
        import_hooks.on_import(name, after=lambda module: map_keras2_names(module, record))
    sys.meta_path.append(MovedModuleFinder(record))


def fix_backend(record) -> None:
    """Make ``KERAS_BACKEND`` tensorflow when the backend asked for cannot be imported here."""
    asked, source = os.environ.get("KERAS_BACKEND"), "KERAS_BACKEND"
    if not asked:
        asked, source = _keras_json_backend(), "keras.json"
    if not asked or asked == "tensorflow":
        return
    module = BACKEND_MODULES.get(asked, asked)
    if module.isidentifier() and importlib.machinery.PathFinder.find_spec(module) is not None:
        return  # really installed (placeholders and other hooks do not count)
    os.environ["KERAS_BACKEND"] = "tensorflow"
    record({"event": "backend", "asked": asked, "source": source})


def _keras_json_backend() -> str:
    folder = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(folder, "keras.json"), encoding="utf-8") as handle:
            backend = json.load(handle).get("backend", "")
    except (OSError, ValueError, AttributeError):
        return ""
    return backend if isinstance(backend, str) else ""


class MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``keras.layers.core`` and the like, when no real module has the name: today's module under it."""

    def __init__(self, record):
        self.record = record

    @staticmethod
    def target(fullname: str) -> str | None:
        for prefix in ("keras.", "tensorflow.keras.", "tf_keras."):
            if fullname.startswith(prefix) and fullname[len(prefix):] in MOVED:
                return prefix + MOVED[fullname[len(prefix):]]
        return None

    def find_spec(self, fullname, path, target=None):
        if self.target(fullname) is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        today = importlib.import_module(self.target(module.__name__))
        module.__dict__.update({k: v for k, v in vars(today).items() if not k.startswith("_")})
        module.__getattr__ = functools.partial(getattr, today)
        self.record({"event": "keras2_name", "name": module.__name__, "now": today.__name__})


def map_keras2_names(keras: types.ModuleType, record) -> None:
    """Give ``keras`` (Keras 3 or tf-keras) the Keras 2 methods and arguments it lacks."""
    model = getattr(keras, "Model", None)
    if model is not None:
        if not hasattr(model, "predict_classes"):
            model.predict_classes = _predict_classes(record)
        for old, new in (("fit_generator", "fit"), ("evaluate_generator", "evaluate"),
                         ("predict_generator", "predict")):
            if not hasattr(model, old):
                setattr(model, old, _generator_method(old, new, record))
    optimizers = getattr(keras, "optimizers", None)
    schedules = getattr(optimizers, "schedules", None)
    for value in list(vars(optimizers).values()) if optimizers is not None else []:
        if isinstance(value, type) and "__init__" in vars(value) and not getattr(value.__init__, "_grader", False) \
                and "learning_rate" in inspect.signature(value.__init__).parameters:
            value.__init__ = _keras2_arguments(value, schedules, record)


def _predict_classes(record):
    def predict_classes(self, x, batch_size=32, verbose=0):
        """Keras 2's ``predict_classes`` (removed in TensorFlow 2.6): the class of highest probability."""
        record({"event": "keras2_name", "name": "Model.predict_classes", "now": "Model.predict"})
        probabilities = self.predict(x, batch_size=batch_size, verbose=verbose)
        if probabilities.shape[-1] > 1:
            return probabilities.argmax(axis=-1)
        return (probabilities > 0.5).astype("int32")
    return predict_classes


def _generator_method(old: str, new: str, record):
    def method(self, *args, **kwargs):
        record({"event": "keras2_name", "name": f"Model.{old}", "now": f"Model.{new}"})
        for name in _GENERATOR_ONLY:
            kwargs.pop(name, None)
        return getattr(self, new)(*args, **kwargs)
    method.__name__ = old
    method.__doc__ = f"Keras 2's ``{old}``: today's ``{new}`` takes generators."
    return method


def _keras2_arguments(optimizer: type, schedules, record):
    """``optimizer.__init__`` that also takes Keras 2's ``lr=`` and ``decay=``."""
    init = optimizer.__init__
    default_rate = inspect.signature(init).parameters["learning_rate"].default

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        if "lr" in kwargs:
            kwargs["learning_rate"] = kwargs.pop("lr")
            record({"event": "keras2_name", "name": f"{optimizer.__name__}(lr=...)",
                    "now": f"{optimizer.__name__}(learning_rate=...)"})
        decay = kwargs.pop("decay", None)
        if decay and schedules is not None:
            rate = args[0] if args else kwargs.get("learning_rate", default_rate)
            args = args[1:]
            kwargs["learning_rate"] = schedules.InverseTimeDecay(rate, decay_steps=1, decay_rate=decay)
            record({"event": "keras2_name", "name": f"{optimizer.__name__}(decay=...)",
                    "now": "InverseTimeDecay(learning_rate, 1, decay)"})
        init(self, *args, **kwargs)

    __init__._grader = True
    return __init__

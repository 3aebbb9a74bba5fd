"""Offline ``keras.datasets.mnist.load_data`` for the student's kernel.

Runs inside the kernel: imports nothing from ``grader`` and never imports
keras itself, so a notebook that does not use keras does not pay for it.
``install`` makes Keras 3 (``keras``), legacy Keras (``tf_keras``) and
``tensorflow.keras`` read MNIST from a local ``.npz`` instead of downloading
it. Every public ``load_data`` is a copy of the one defined in ``SOURCES``:
modules already loaded are patched at once, the others right after their
module runs, before any public module copies the function.
"""
from __future__ import annotations

import importlib.abc
import sys
import types

SOURCES = ("keras.src.datasets.mnist", "tf_keras.src.datasets.mnist")


def install(mnist_file: str) -> None:
    """Answer every later (and earlier) ``mnist.load_data()`` from ``mnist_file``."""
    load_data = offline_load_data(mnist_file)
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, PatchingFinder)]
    sys.meta_path.insert(0, PatchingFinder(load_data))
    for name in SOURCES:
        if name in sys.modules:
            patch(sys.modules[name], load_data)


def offline_load_data(mnist_file: str):
    def load_data(path="mnist.npz", cache_dir=None):
        """MNIST from the grader's local file; ``path`` and ``cache_dir`` are ignored."""
        import numpy as np

        with np.load(mnist_file, allow_pickle=False) as data:
            return (data["x_train"], data["y_train"]), (data["x_test"], data["y_test"])

    return load_data


def patch(module: types.ModuleType, load_data) -> None:
    """Replace ``module.load_data`` and every loaded module's copy of it."""
    old = vars(module).get("load_data")
    module.load_data = load_data
    if old is None:
        return
    for other in list(sys.modules.values()):
        if isinstance(other, types.ModuleType) and vars(other).get("load_data") is old:
            other.load_data = load_data


class PatchingFinder(importlib.abc.MetaPathFinder):
    """Finds the ``SOURCES`` modules as usual, but patches them once they run."""

    def __init__(self, load_data):
        self.load_data = load_data

    def find_spec(self, fullname, path, target=None):
        if fullname not in SOURCES:
            return None
        for finder in sys.meta_path:
            if finder is not self and hasattr(finder, "find_spec"):
                spec = finder.find_spec(fullname, path, target)
                if spec is not None and spec.loader is not None:
                    spec.loader = PatchingLoader(spec.loader, self.load_data)
                    return spec
        return None


class PatchingLoader(importlib.abc.Loader):
    """Runs a module with its own loader, then patches its ``load_data``."""

    def __init__(self, loader, load_data):
        self.loader = loader
        self.load_data = load_data

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        patch(module, self.load_data)

    def __getattr__(self, name):  # get_source, get_code... for tracebacks and inspect
        return getattr(self.loader, name)

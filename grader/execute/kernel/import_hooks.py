"""Run code around the import of chosen modules, in the student's kernel.

Runs inside the kernel and imports nothing from ``grader``. One finder at the
front of ``sys.meta_path`` watches the modules given to :func:`on_import`: it
lets the other finders find such a module as usual and wraps its loader, so
that ``before`` runs just before the module's code and ``after`` right after
it, before any other module can copy what the module defines. For a module
already imported, ``after`` runs at once.
"""
from __future__ import annotations

import importlib.abc
import sys

_HOOKS: dict[str, list] = {}   # module name -> [(before, after)]


def on_import(name: str, before=None, after=None) -> None:
    """Call ``before()`` when module ``name`` is about to run, ``after(module)`` once it has."""
    if name in sys.modules:
        if after is not None:
            after(sys.modules[name])
        return
    _HOOKS.setdefault(name, []).append((before, after))
    if not any(isinstance(finder, WatchingFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, WatchingFinder())


class WatchingFinder(importlib.abc.MetaPathFinder):
    """Finds watched modules with the other finders, and wraps their loaders."""

    def find_spec(self, fullname, path, target=None):
        hooks = _HOOKS.get(fullname)
        if not hooks:
            return None
        for finder in sys.meta_path:
            if finder is not self and hasattr(finder, "find_spec"):
                spec = finder.find_spec(fullname, path, target)
                if spec is not None and spec.loader is not None:
                    spec.loader = HookedLoader(spec.loader, hooks)
                    return spec
        return None


class HookedLoader(importlib.abc.Loader):
    """Runs a module with its own loader, with the hooks around it."""

    def __init__(self, loader, hooks):
        self.loader = loader
        self.hooks = hooks

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        for before, _ in self.hooks:
            if before is not None:
                before()
        self.loader.exec_module(module)
        for _, after in self.hooks:
            if after is not None:
                after(module)

    def __getattr__(self, name):  # get_source, get_code... for tracebacks and inspect
        return getattr(self.loader, name)

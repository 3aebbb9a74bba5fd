"""The layers of docs/architecture.md hold: no module of grader/ imports from a layer above its own.

Every import is read with ``ast`` (at module level and inside functions, absolute and relative), so a
lazy import counts as much as one at the top. The few imports that still go upwards are listed in
``ALLOWED_UPWARDS`` with their reason; one that no longer happens must leave the list.
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "grader"
KERNEL = "grader.execute.kernel"

# Lowest first: a module may import from its own layer and the layers below it. The first prefix that
# matches a module's name gives its layer.
LAYERS = [
    ("base", ["grader.atomic", "grader.result", "grader.progress", "grader.late", "grader.i18n", "grader.bands",
              "grader.oneline"]),
    ("execute", ["grader.execute"]),
    ("harvest", ["grader.harvest"]),
    ("evaluate", ["grader.evaluate", "grader.rubric"]),
    ("report", ["grader.report"]),
    ("commands", ["grader.grade", "grader.batch", "grader.pool", "grader.digests", "grader.intake", "grader.pack",
                  "grader.student", "grader.gradescope", "grader.environment", "grader.review"]),
    ("cli", ["grader.cli", "grader.__main__"]),
]
ALLOWED_UPWARDS = {
    ("grader.execute.runner", "grader.environment"): "COURSE_PACKAGES, the folder of the course packages",
    ("grader.rubric", "grader.pack"): "a rubric read from a student pack",
    ("grader.report.lms", "grader.batch"): "BatchError, the one-line error of grader export",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


KNOWN = {module_name(path) for path in modules()}


def layer_of(module: str) -> int | None:
    """The index in LAYERS of ``module`` (the package ``grader`` itself, its version only, is the base)."""
    if module == "grader":
        return 0
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return index
    return None


def imports(path: Path) -> list[tuple[str, int]]:
    """The modules ``path`` imports (a name taken from a package counts as the package) and their lines.

    A relative import is resolved against the module's package; names outside grader/ are kept as written.
    """
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            if node.module is None:  # from . import a, b: a module of the package, or a name of the package
                found += [(f"{target}.{alias.name}" if f"{target}.{alias.name}" in KNOWN else target, node.lineno)
                          for alias in node.names]
            else:
                found.append((target, node.lineno))
    return found


def upward_imports() -> list[tuple[str, str, int]]:
    found = []
    for path in modules():
        module = module_name(path)
        if module.startswith(KERNEL):
            continue
        for target, line in imports(path):
            if (target == "grader" or target.startswith("grader.")) and layer_of(target) > layer_of(module):
                found.append((module, target, line))
    return found


def test_every_module_has_a_layer():
    assert [module_name(p) for p in modules() if layer_of(module_name(p)) is None] == []


def test_no_module_imports_from_a_layer_above_its_own():
    broken = [f"{module} (line {line}) imports {target}: {LAYERS[layer_of(module)][0]} is below "
              f"{LAYERS[layer_of(target)][0]}" for module, target, line in upward_imports()
              if (module, target) not in ALLOWED_UPWARDS]
    assert broken == []


def test_every_allowed_upward_import_still_happens():
    happening = {(module, target) for module, target, _ in upward_imports()}
    assert set(ALLOWED_UPWARDS) - happening == set()


@pytest.mark.parametrize("path", sorted((PACKAGE / "execute" / "kernel").glob("*.py")), ids=lambda p: p.name)
def test_the_kernel_imports_nothing_of_the_grader(path):
    """The kernel's modules run in the sandbox, on its path: they import each other by name, never grader."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}:{node.lineno} relative import"
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            names = [node.module] if isinstance(node, ast.ImportFrom) else []
        for name in names:
            assert name.partition(".")[0] != "grader", f"{path.name}:{node.lineno} imports {name}"

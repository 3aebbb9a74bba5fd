"""Suite-wide rules: a private grader cache, tests for root or for an ordinary user, strict skips.

- Every test, and every grader it starts, uses a temporary ``XDG_CACHE_HOME``:
  nothing reads or fills the real ``~/.cache/grader``.
- ``@pytest.mark.root`` tests need root (cgroups, mounts, the unshare
  sandbox); ``@pytest.mark.nonroot`` tests need a user without root's rights
  (root reads and writes any file). Each is skipped, with the reason, when run
  as the other; ``.ci/run`` runs the suite as root and, beside it, the ``nonroot``
  tests as an unprivileged user, so together every test runs.
- Fixtures more than one file uses: ``browser`` (headless Chromium), ``loads`` (counts Keras loads),
  ``graded_corpus`` (tests/real/ and the samples graded once per session).
  Builders of rubrics and saved models, which bench/ uses too, are in ``tests/builders.py``.
- ``GRADER_STRICT_TESTS=1`` (set by ``.ci/run``) makes every skip a failure:
  a missing tool or privilege must not pass silently in CI.
"""
import os
import shutil
import sys
from pathlib import Path

import pytest

STRICT = os.environ.get("GRADER_STRICT_TESTS") == "1"
# pytest-xdist runs the suite in three processes (pyproject.toml: -n 3): the tests of a file in one of them
# (they share module fixtures), the files that read graded_corpus in the same one. The longest start first,
# then the two files that mostly wait on kernels (kills, interrupts, limits), so that they wait while the corpus
# keeps both cores busy (last in the suite, they left a core idle for two minutes); everything else after them.
SAME_WORKER = {"test_real_corpus.py": "corpus", "test_pack_agreement.py": "corpus", "test_validate.py": "corpus"}
START_ORDER = {"test_real_corpus.py": 0, "test_pack_agreement.py": 0, "test_hostile.py": 1, "test_resume.py": 2,
               "test_sandbox.py": 2}
CORPUS_SEED = 1
# The sample submissions graded with the corpus: those that run in about a minute (26-65 s each beside the corpus).
# ana_strong, carla_keras2, elena_strong and fran_typical take 104-191 s, and what they exercise is there already:
# full marks (the references, which test_validate holds to them in the same run), Keras 2 (real_student_quick and
# three more) and partial marks (most of the corpus). `make demo` grades them all.
SAMPLES = ("bruno_typical", "diego_broken", "gema_broken")
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="session", autouse=True)
def temporary_grader_cache(tmp_path_factory):
    patch = pytest.MonkeyPatch()
    cache = tmp_path_factory.mktemp("xdg-cache")
    patch.setenv("XDG_CACHE_HOME", str(cache))
    yield cache
    patch.undo()


@pytest.fixture(scope="session")
def graded_corpus(tmp_path_factory) -> Path:
    """The notebooks of tests/real/ and the ``SAMPLES``, graded once per session: one ``grader grade``
    batch per assignment, side by side, into ``<root>/<assignment>`` (two workers each, ``CORPUS_SEED``,
    English), in the cache ``<root>/cache`` of its own, so the references run too, as scripts/agreement.py
    does. The corpus verdicts, the student pack's agreement and the validation of every reference read it."""
    repo = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(repo / "scripts"))
    import agreement
    root = tmp_path_factory.mktemp("real")
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(root / "cache"))
    for assignment in agreement.ASSIGNMENTS:
        notebooks = root / "notebooks" / assignment
        notebooks.mkdir(parents=True)
        for path in [*(repo / "tests" / "real" / assignment).glob("*.ipynb"),
                     *(path for path in (repo / "submissions" / assignment).glob("*.ipynb") if path.stem in SAMPLES)]:
            shutil.copy(path, notebooks)
    missing = set(SAMPLES) - {path.stem for path in root.glob("notebooks/*/*.ipynb")}
    assert not missing, f"SAMPLES names no sample submission: {sorted(missing)}"
    try:
        seconds = agreement.grade_all(root, CORPUS_SEED, 2, {a: root / "notebooks" / a for a in agreement.ASSIGNMENTS})
    finally:
        patch.undo()
    print("corpus and samples graded in", ", ".join(f"{a} {s:.0f} s" for a, s in seconds.items()))
    return root


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, as this machine needs it (no sandbox of its own, no network)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed: the reports cannot be opened in a browser here")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def loads(monkeypatch):
    """Counts Keras loads of a model file."""
    from grader.evaluate import models as model_files
    calls = []
    real = model_files.load

    def counting(path, *notes):
        calls.append(path)
        return real(path, *notes)
    monkeypatch.setattr(model_files, "load", counting)
    return calls


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist's scheduler, by file: a test file's tests run in one worker, in the order collected
    (pytest_collection_modifyitems puts them in ``START_ORDER``), and the files of ``SAME_WORKER`` in one."""
    from xdist.scheduler import LoadScopeScheduling

    class ByFile(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            name = Path(nodeid.split("::")[0]).name
            return SAME_WORKER.get(name, name)
    return ByFile(config, log)


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: START_ORDER.get(item.path.name, len(START_ORDER)))  # stable: files stay whole
    as_root = os.geteuid() == 0
    for item in items:
        if item.get_closest_marker("root") and not as_root:
            item.add_marker(pytest.mark.skip(reason="needs root (cgroups, mounts, the unshare sandbox); "
                                                    ".ci/run runs it as root"))
        if item.get_closest_marker("nonroot") and as_root:
            item.add_marker(pytest.mark.skip(reason="needs a user without root's rights; .ci/run runs it as "
                                                    "the user grader-ci"))


def _strict(report, reason) -> None:
    report.outcome = "failed"
    report.longrepr = f"skipped, and GRADER_STRICT_TESTS=1 makes every skip a failure: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    if STRICT and report.skipped and not hasattr(report, "wasxfail"):
        _strict(report, report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    report = (yield).get_result()
    if STRICT and report.skipped:
        _strict(report, report.longrepr)

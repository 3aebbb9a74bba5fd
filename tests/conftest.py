"""Suite-wide rules: a private grader cache, tests for root or for an ordinary user, strict skips.

- Every test, and every grader it starts, uses a temporary ``XDG_CACHE_HOME``:
  nothing reads or fills the real ``~/.cache/grader``.
- ``@pytest.mark.root`` tests need root (cgroups, mounts, the unshare
  sandbox); ``@pytest.mark.nonroot`` tests need a user without root's rights
  (root reads and writes any file). Each is skipped, with the reason, when run
  as the other; ``.ci/run`` runs the suite as root, then the ``nonroot`` tests
  as an unprivileged user, so together every test runs.
- ``GRADER_STRICT_TESTS=1`` (set by ``.ci/run``) makes every skip a failure:
  a missing tool or privilege must not pass silently in CI.
"""
import os

import pytest

STRICT = os.environ.get("GRADER_STRICT_TESTS") == "1"


@pytest.fixture(scope="session", autouse=True)
def temporary_grader_cache(tmp_path_factory):
    patch = pytest.MonkeyPatch()
    cache = tmp_path_factory.mktemp("xdg-cache")
    patch.setenv("XDG_CACHE_HOME", str(cache))
    yield cache
    patch.undo()


def pytest_collection_modifyitems(config, items):
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

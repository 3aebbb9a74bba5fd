"""A student installs the grader's wheel beside their own TensorFlow, with no network, and checks a notebook.

The wheel is built as the instructor builds it (``python -m build --wheel``, offline: ``--no-isolation``,
from a copy of the source tree). The student's environment is a fresh virtualenv whose path already holds
the student's own packages, TensorFlow among them: a ``.pth`` file points at a folder of links to this test
environment's packages, the grader's own (and pip's) left out. ``pip install --no-index`` then installs
the wheel without any index: it succeeds only because nothing has to be downloaded, so no TensorFlow wheel
is pulled. There is no bubblewrap on a student's machine, so the check runs with ``--sandbox none``.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from grader.gradescope import _wheel

from .tiny_assignment import packed, write

REPO = Path(__file__).resolve().parent.parent
NOT_THE_STUDENTS = ("grader", "__editable__", "pip", "setuptools", "_distutils_hack", "pkg_resources")

pytestmark = [pytest.mark.slow, pytest.mark.kernel]


def own_packages(folder: Path) -> Path:
    """A folder of links to this environment's packages, as the student's own installation."""
    folder.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(NOT_THE_STUDENTS) and entry.suffix != ".pth":
            (folder / entry.name).symlink_to(entry)
    return folder


def test_a_student_installs_the_wheel_and_checks_with_a_pack(tmp_path_factory, tmp_path):
    tiny = packed(tmp_path_factory)
    wheel = _wheel(REPO, tmp_path / "dist")
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "student")], check=True)
    python = tmp_path / "student" / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "students-own.pth").write_text(str(own_packages(tmp_path / "own")) + "\n")
    env = {"PATH": f"{tmp_path / 'student' / 'bin'}:/usr/bin:/bin", "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "HOME": str(tmp_path), "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    installed = subprocess.run([python, "-m", "pip", "install", "--no-index", wheel], capture_output=True,
                               text=True, env=env)
    assert installed.returncode == 0, installed.stderr
    assert installed.stdout.strip().splitlines()[-1] == "Successfully installed grader-0.1.0"
    where = subprocess.run([python, "-c", "import grader, tensorflow; print(grader.__file__, tensorflow.__file__)"],
                           capture_output=True, text=True, env=env, check=True, cwd=tmp_path).stdout.split()
    assert where[0].startswith(site) and where[1].startswith(str(tmp_path / "own"))

    notebook = write(tmp_path, "ana.ipynb")
    checked = subprocess.run([tmp_path / "student" / "bin" / "grader", "check", notebook, "--pack", tiny.pack,
                              "--sandbox", "none", "--seed", "5", "--lang", "en", "--out", tmp_path / "out"],
                             capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert checked.returncode == 0, checked.stderr
    result = json.loads((tmp_path / "out" / "ana" / "result.json").read_text())
    assert re.search(r"^Q4 +4/6 +After hand-in", checked.stdout, re.M)
    assert re.search(rf"^Total +{result['score']:g}/11$", checked.stdout, re.M)
    assert "grader: No sandbox here (there is no bubblewrap)" in checked.stderr
    imported = subprocess.run([python, "-c", f"from grader.student import Checker; "
                                             f"print(Checker({str(tiny.pack)!r}).pack.assignment)"],
                              capture_output=True, text=True, env=env, cwd=tmp_path)
    assert imported.stdout == "tiny-adder\n", imported.stderr
    assert not os.path.exists(REPO / "build")                       # the source tree was left as it was
    shutil.rmtree(tmp_path / "student")

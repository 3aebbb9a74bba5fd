"""The environment a notebook meets: course packages, placeholders, backend, Keras 2 names, diagnosis.

The kernel-side modules run in a plain subprocess where they can (fast); the
kernel tests run small notebooks through ``execute_notebook`` in the sandbox.
"""
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader import environment, rubric as rubrics
from grader.execute import runner, sandbox as sandboxes
from grader.execute.packages import installed_by, module_of
from grader.execute.runner import Limits, execute_notebook, placeholders
from grader.grade import LEGACY_IDIOMS, keras_flavour
from grader.harvest.diagnosis import bound_names, environment_notes, explain_runs
from grader.harvest.environment import read_environment
from grader.result import CellRun

REPO = Path(__file__).resolve().parent.parent
KERNEL_DIR = REPO / "grader" / "execute" / "kernel"
REAL = REPO.parent / "shared" / "real" / "binary-addition_student_quick.ipynb"


def kernel_side(code: str, **env) -> str:
    """Run ``code`` in a fresh Python with the kernel-side modules importable; its stdout."""
    done = subprocess.run([sys.executable, "-c", code], cwd=KERNEL_DIR, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def notebook(*sources):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


def execute(nb, **options):
    with tempfile.TemporaryDirectory(prefix="grader-test-job-") as job:
        execution = execute_notebook(nb, Path(job), sandboxes.detect("auto"),
                                     Limits(cell_timeout=60, notebook_timeout=180), **options)
        environment_seen = read_environment(execution.models_dir, execution.cell_of_execution)
        environment_seen["files"] = sorted(path.name for path in execution.models_dir.iterdir())
        texts = ["".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout")
                 for cell in execution.notebook.cells]
        return execution, environment_seen, texts


# --- what an install line would have installed ----------------------------------------------------

def test_install_lines_name_their_packages_and_modules():
    assert installed_by("!pip install -q d2l==1.0.3") == ["d2l==1.0.3"]
    assert installed_by("%pip install a b --upgrade") == ["a", "b"]
    assert installed_by("pip install -i https://x/simple -r req.txt scikit-learn[all] ./local git+https://g/x") == \
        ["scikit-learn[all]"]
    assert installed_by("!python -m pip install pillow && ls") == ["pillow"]
    assert installed_by("!ls /content") == [] and installed_by("%tensorflow_version 2.x") == []
    assert [module_of(p) for p in ("d2l==1.0.3", "scikit-learn[all]", "opencv-python", "Pillow",
                                   "tensorflow-datasets", "PyYAML", "beautifulsoup4", "my-Package")] == \
        ["d2l", "sklearn", "cv2", "PIL", "tensorflow_datasets", "yaml", "bs4", "my_package"]


def test_the_kernel_is_told_which_modules_may_be_placeholders():
    nb = notebook("!pip install -q d2l==1.0.3\n%pip install opencv-python", "import numpy")
    assert placeholders(nb, ["mylib"]) == {"mylib": "", "google.colab": "", "d2l": "!pip install -q d2l==1.0.3",
                                           "cv2": "%pip install opencv-python"}


# --- placeholders, in a plain subprocess ------------------------------------------------------------

PLACEHOLDERS = """
import missing_modules, sys
events = []
missing_modules.install({"fancylib": "pip install fancylib", "google.colab": "", "numpy": "pip install numpy==1"},
                        events.append)
"""


def test_a_placeholder_imports_with_its_submodules_and_fails_on_first_use():
    out = kernel_side(PLACEHOLDERS + """
from fancylib import tensorflow as fl
import fancylib.data.loader
import numpy as np
print(type(np).__name__, fl, fl.Timer.start)
for use in ("fl.plot([1], [2])", "fl.x + 1", "len(fl.data)", "list(fl.data)", "class M(fl.Module): pass"):
    try:
        exec(use)
        print("no error", use)
    except ImportError as error:
        print(type(error).__name__, "|", error)
print([e["action"] + " " + e["what"] for e in events])
""")
    lines = out.splitlines()
    assert lines[0] == ("module <fancylib.tensorflow: not available when grading> "
                        "<fancylib.tensorflow.Timer.start: not available when grading>")
    assert lines[1] == ('NotAvailableWhenGrading | fancylib.tensorflow.plot(): module fancylib is not available when '
                        'grading (its line "pip install fancylib" was skipped: notebooks never install packages '
                        'when graded).')
    assert [line.split(" | ")[1].split(":")[0] for line in lines[1:6]] == [
        "fancylib.tensorflow.plot()", "fancylib.tensorflow.x + ...", "len(fancylib.tensorflow.data)",
        "iter(fancylib.tensorflow.data)", "class ...(fancylib.tensorflow.Module)"]
    assert eval(lines[6])[:3] == ["import fancylib", "import fancylib.data", "import fancylib.data.loader"]


def test_colab_imports_as_a_placeholder_whose_upload_and_mount_say_what_they_do():
    out = kernel_side(PLACEHOLDERS + """
from google.colab import drive, files
for use in (lambda: files.upload(), lambda: drive.mount("/content/drive")):
    try:
        use()
    except ImportError as error:
        print(error)
""")
    upload, mount = out.splitlines()
    assert upload.startswith("google.colab.files.upload() asks the person at the browser to choose files")
    assert "not possible when grading" in upload
    assert mount.startswith("google.colab.drive.mount() connects the student's Google Drive")


def test_feature_detection_still_gets_import_error():
    out = kernel_side(PLACEHOLDERS + """
import fancylib
cells = [
    "try:\\n    import google.colab\\n    IN_COLAB = True\\nexcept ImportError:\\n    IN_COLAB = False",
    "try:\\n    from fancylib import tensorflow\\n    HAVE = True\\nexcept:\\n    HAVE = False",
    "try:\\n    import importlib\\n    importlib.import_module('cv2')\\nexcept (OSError, Exception):\\n    pass",
]
for cell in cells:
    sys.meta_path[-1].before_cell(cell)
    exec(cell)
print(IN_COLAB, HAVE, sorted(missing_modules.feature_detected(cells[2])))
try:
    sys.meta_path[-1].before_cell("try:\\n    import foo\\nexcept ValueError:\\n    pass")
    import foo
except ImportError:
    print("plain ImportError")
""")
    assert out.splitlines() == ["False False ['cv2', 'importlib']", "plain ImportError"]


def test_a_module_really_installed_is_never_stood_in_for():
    out = kernel_side(PLACEHOLDERS + "print(sorted(sys.meta_path[-1].reasons))")
    assert out.strip() == "['fancylib', 'google.colab']"


def test_a_missing_backend_becomes_tensorflow_before_keras_loads(tmp_path):
    code = "import keras_compat, os\nevents = []\nkeras_compat.fix_backend(events.append)\n" \
           "print(os.environ.get('KERAS_BACKEND'), events)"
    assert kernel_side(code, KERAS_BACKEND="jax").strip() == \
        "tensorflow [{'event': 'backend', 'asked': 'jax', 'source': 'KERAS_BACKEND'}]"
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "torch", "floatx": "float32"}))
    assert kernel_side(code, KERAS_HOME=str(tmp_path), KERAS_BACKEND="").strip() == \
        "tensorflow [{'event': 'backend', 'asked': 'torch', 'source': 'keras.json'}]"
    assert kernel_side(code, KERAS_BACKEND="numpy").strip() == "numpy []"  # numpy is here: left alone


# --- Keras 2 code: legacy Keras only where it is needed ------------------------------------------------

def test_only_a_recurrent_layer_with_input_dim_needs_legacy_keras():
    rubric = rubrics.load("binary-addition")
    needs = ["model.add(keras.layers.SimpleRNN(\n    4,\n    input_dim = input_dim,\n    return_sequences=True))",
             "LSTM(8, input_dim=2, return_sequences=True)"]
    mapped = ["Dense(4, input_dim=2)", "from keras.utils import np_utils", "from keras.layers.core import Dense",
              "model.predict_classes(x)", "SGD(lr=0.1)", "Adam(lr=0.1, decay=1e-6)", "model.fit_generator(g)",
              "SimpleRNN(4, input_shape=(None, 2))"]
    assert [bool(LEGACY_IDIOMS.search(s)) for s in needs + mapped] == [True] * 2 + [False] * 8
    assert keras_flavour(rubric, notebook(needs[0])) and not keras_flavour(rubric, notebook(*mapped))


# --- the course packages' installer (no internet: wheels made here) -------------------------------------

def wheel(folder: Path, name: str, code: str) -> None:
    """A minimal pure-Python wheel of package ``name`` whose ``__init__`` is ``code``."""
    info = f"{name}-1.0.dist-info"
    files = {f"{name}/__init__.py": code,
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(folder / f"{name}-1.0-py3-none-any.whl", "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)


def test_course_packages_install_beside_the_environment_and_only_if_they_import(tmp_path):
    wheels, target = tmp_path / "wheels", tmp_path / "course-packages"
    wheels.mkdir()
    wheel(wheels, "tinygood", "VALUE = 42\n")
    wheel(wheels, "tinybad", "raise ImportError('needs an old numpy')\n")
    outcomes = environment.install(["tinygood==1.0", "tinybad", "numpy", "notthere"], target,
                                   ("--no-index", "--find-links", str(wheels)))
    assert [(o.package, o.module, o.status) for o in outcomes] == [
        ("tinygood==1.0", "tinygood", "installed"), ("tinybad", "tinybad", "does_not_import"),
        ("numpy", "numpy", "present"), ("notthere", "notthere", "failed")]
    assert "needs an old numpy" in outcomes[1].detail
    assert sorted(p.name for p in target.iterdir()) == ["tinygood", "tinygood-1.0.dist-info"]
    assert "tinygood" not in sys.modules  # the grader's own process never imports them


def test_rubric_environment_is_validated(tmp_path):
    base = (REPO / "rubrics" / "binary-addition.toml").read_text(encoding="utf-8").replace(
        '"../handouts/', json.dumps(str(REPO / "handouts"))[:-1] + "/")  # the copy lives elsewhere
    assert rubrics.load("binary-addition").packages == ["d2l"]
    for text, problem in (('packages = "d2l"', "environment.packages: must be a list"),
                          ('packages = ["git+https://x/y"]', "is not a package name"),
                          ('pakages = ["d2l"]', "environment.pakages: unknown key")):
        path = tmp_path / "r.toml"
        path.write_text(base.replace('packages = ["d2l"]', text), encoding="utf-8")
        with pytest.raises(rubrics.RubricError, match=problem):
            rubrics.load(path)
    path.write_text(base.replace('packages = ["d2l"]', 'packages = ["d2l==1.0.3", "scikit-learn>=1.0"]'))
    assert rubrics.load(path).packages == ["d2l==1.0.3", "scikit-learn>=1.0"]
    assert rubrics.load(path).execution_digest != rubrics.load("binary-addition").execution_digest


# --- the trusted side: the manifest, the diagnosis ----------------------------------------------------

def test_environment_events_of_the_manifest_are_checked(tmp_path):
    lines = [{"event": "placeholder", "action": "import", "module": "d2l", "what": "d2l", "execution_count": 2},
             {"event": "placeholder", "action": "use", "module": "d2l", "what": "d2l.plot()", "execution_count": 3},
             {"event": "placeholder", "action": "use", "module": "<script>", "what": "x()", "execution_count": 3},
             {"event": "placeholder", "action": "delete", "module": "os", "what": "x", "execution_count": 3},
             {"event": "backend", "asked": "jax", "source": "KERAS_BACKEND", "execution_count": 1},
             {"event": "backend", "asked": "jax", "source": "/etc/passwd", "execution_count": 1},
             {"event": "keras2_name", "name": "keras.layers.core", "now": "keras.layers", "execution_count": 2},
             {"event": "keras2_name", "name": ["x"], "now": "y", "execution_count": 2},
             {"event": "placeholder", "action": "import", "module": "d2l", "what": "d2l", "execution_count": "x"}]
    (tmp_path / "manifest.jsonl").write_text("\n".join(map(json.dumps, lines)) + "\nnot json\n[1, 2]\n")
    seen = read_environment(tmp_path, {1: 0, 2: 3, 3: 5})
    assert seen == {"placeholders": [{"module": "d2l", "imported_cells": [3], "used_cells": [5],
                                      "uses": ["d2l.plot()"]}],
                    "backend": {"asked": "jax", "source": "KERAS_BACKEND", "cell": 0},
                    "keras2_names": [{"name": "keras.layers.core", "now": "keras.layers", "cells": [3]}]}
    notes = environment_notes(seen, "es")
    assert notes[0].startswith("d2l no está disponible al corregir") and "celda 6 (d2l.plot())" in notes[0]
    assert "backend «jax»" in notes[1] and "keras.layers.core → keras.layers (celda 4)" in notes[2]


def explained(error_name, message, *sources, lang="en", statuses=None):
    cells = [nbformat.v4.new_code_cell(s) for s in sources]
    statuses = statuses or ["ok"] * (len(cells) - 1)
    runs = [CellRun(i, status) for i, status in enumerate(statuses)]
    runs.append(CellRun(len(cells) - 1, "error", error_name=error_name, error_message=message))
    return explain_runs(runs, cells, lang)[-1].explanation


def test_failures_of_the_environment_are_explained_in_both_languages():
    tf1 = explained("AttributeError", "module 'tensorflow' has no attribute 'Session'", "sess = tf.Session()")
    assert tf1.startswith("Written for TensorFlow 1, which grading does not have: TensorFlow 2.21 removed tf.Session.")
    assert explained("AttributeError", "module 'tensorflow' has no attribute 'Session'", "x", lang="es") \
        .startswith("Código escrito para TensorFlow 1")
    assert "tf.train.GradientDescentOptimizer" in explained(
        "AttributeError", "module 'tensorflow._api.v2.train' has no attribute 'GradientDescentOptimizer'", "x")
    assert "TensorFlow 1" in explained("RuntimeError", "tf.placeholder() is not compatible with eager execution", "x")
    assert "TensorFlow 1" in explained("ModuleNotFoundError", "No module named 'tensorflow.contrib'", "x")
    assert explained("ModuleNotFoundError", "No module named 'cv2'", "import cv2").startswith(
        "The module cv2 is not installed in the grading environment")
    used = explained("NotAvailableWhenGrading", 'd2l.plot(): module d2l is not available when grading (its line '
                     '"pip install d2l" was skipped: notebooks never install packages when graded).', "d2l.plot()")
    assert used.startswith('The notebook uses d2l, which is not available when grading: its line "pip install d2l" '
                           'did not run.')
    assert "Google Colab" in explained("NotAvailableWhenGrading", "google.colab.drive.mount() connects ...", "x")
    assert "no network" in explained("Exception", "URL fetch failure on https://x: None -- [Errno -3] Temporary "
                                     "failure in name resolution", "x")
    assert "/content/drive/MyDrive/data.csv" in explained(
        "FileNotFoundError", "[Errno 2] No such file or directory: '/content/drive/MyDrive/data.csv'", "x")
    assert explained("AttributeError", "'list' object has no attribute 'foo'", "x") == ""


def test_a_name_left_undefined_by_a_failed_cell_points_to_that_cell():
    sources = ["import os\nfrom d2l import tensorflow as d2l\nimport numpy as np", "%matplotlib inline\nx = 1",
               "np.zeros(3)"]
    assert explained("NameError", "name 'np' is not defined", *sources, statuses=["error", "ok"]) == \
        '"np" is not defined because cell 1, which defines it, failed or did not run: fix that cell first.'
    assert explained("NameError", "name 'np' is not defined", *sources, statuses=["ok", "ok"]) == ""
    assert bound_names("!pip install x\n%time y = 2\nfor i, (a, b) in z: pass\ndef f(): pass\nimport a.b as c") \
        >= {"i", "a", "b", "f", "c"}


# --- in a real kernel ----------------------------------------------------------------------------------

@pytest.mark.kernel
def test_skipped_installs_colab_and_magics_in_a_kernel():
    execution, seen, texts = execute(notebook(
        "!pip install -q fancylib==1.0",
        "%tensorflow_version 2.x\nimport os\nfrom fancylib import tensorflow as fl\nimport json\nprint(json.dumps(1))",
        "fl.plot([1, 2])",
        "try:\n    from google.colab import drive\n    IN_COLAB = True\nexcept ImportError:\n    IN_COLAB = False\n"
        "print(IN_COLAB)",
        "from google.colab import files\nuploaded = files.upload()",
        "import missing_entirely"))
    statuses = [(run.status, run.error_name) for run in execution.cells]
    assert statuses == [("skipped", ""), ("ok", ""), ("error", "NotAvailableWhenGrading"), ("ok", ""),
                        ("error", "NotAvailableWhenGrading"), ("error", "ModuleNotFoundError")]
    assert execution.cells[1].note == "skipped: %tensorflow_version 2.x" and texts[1] == "1\n"
    assert texts[3] == "False\n" and "files.upload() asks the person" in execution.cells[4].error_message
    assert seen["placeholders"] == [
        {"module": "fancylib", "imported_cells": [1], "used_cells": [2], "uses": ["fancylib.tensorflow.plot()"]},
        {"module": "google.colab", "imported_cells": [4], "used_cells": [4], "uses": ["google.colab.files.upload()"]}]


@pytest.mark.kernel
@pytest.mark.slow
def test_backend_and_keras2_names_in_a_kernel():
    execution, seen, texts = execute(notebook(
        "import os\nos.environ['KERAS_BACKEND'] = 'jax'",
        "import numpy as np\nimport keras\nfrom keras.utils.np_utils import to_categorical\n"
        "from keras.layers.core import Dense\nprint(keras.backend.backend(), to_categorical([1]).tolist())",
        "model = keras.Sequential([keras.Input((2,)), Dense(3, activation='softmax')])\n"
        "model.compile(keras.optimizers.SGD(lr=0.5, decay=0.1), 'categorical_crossentropy')\n"
        "model.fit(np.zeros((4, 2)), np.eye(3)[[0, 1, 2, 0]], epochs=1, verbose=0)\n"
        "print(model.predict_classes(np.zeros((2, 2))).shape, round(float(model.optimizer.learning_rate), 4))"))
    assert [run.status for run in execution.cells] == ["ok"] * 3, execution.cells
    assert texts[1] == "tensorflow [[0.0, 1.0]]\n" and texts[2] == "(2,) 0.4545\n"  # 0.5 / (1 + 0.1 * 1 step)
    assert seen["backend"] == {"asked": "jax", "source": "KERAS_BACKEND", "cell": 1}
    assert "model-1-v1.keras" in seen["files"]  # the mapped names do not stop the model from being saved
    assert [(n["name"], n["cells"]) for n in seen["keras2_names"]] == [
        ("keras.utils.np_utils", [1]), ("keras.layers.core", [1]), ("SGD(lr=...)", [2]), ("SGD(decay=...)", [2]),
        ("Model.predict_classes", [2])]


@pytest.mark.kernel
@pytest.mark.slow
@pytest.mark.skipif(not REAL.is_file(), reason="the real notebooks of shared/real are not beside the repository")
@pytest.mark.parametrize("installed", [True, False], ids=["course-package", "placeholder"])
def test_the_real_hand_in_runs_its_imports_and_q1_to_q3(installed, monkeypatch, tmp_path):
    """The import cell (pip install d2l skipped; from d2l import tensorflow as d2l) and Q1-Q3, as written."""
    if installed and not (environment.COURSE_PACKAGES / "d2l").is_dir():
        pytest.skip("d2l is not installed in the course packages (grader environment)")
    if not installed:
        monkeypatch.setattr(runner, "COURSE_PACKAGES", tmp_path)  # nothing installed: d2l is a placeholder
    real = nbformat.read(REAL, as_version=4)
    real.cells = real.cells[:real.cells.index(next(c for c in real.cells if "Para evitar" in c.source))]
    rubric = rubrics.load("binary-addition")
    execution, seen, texts = execute(real, legacy_keras=keras_flavour(rubric, real), course_packages=rubric.packages)
    assert [run.status for run in execution.cells] == ["skipped"] + ["ok"] * 7, execution.cells
    assert execution.cells[0].note == "skipped: pip install d2l"
    assert "(None, None, 1)" in texts[15] and "(1, 3, 2)" in texts[17]
    assert seen["placeholders"] == ([] if installed else [
        {"module": "d2l", "imported_cells": [3], "used_cells": [], "uses": []}])
    assert "model-1-v1.h5" in seen["files"]  # Q2's model, saved with legacy Keras

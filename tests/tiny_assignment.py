"""A tiny binary-addition assignment for the pack, self-check and Gradescope tests: it trains in seconds.

Q4's adder and Q5's longer adder fit the same signature, so only their place in the notebook tells them
apart; Q4 has a hidden check (on a GRU that only it asks for). Training is seeded and deterministic, so
two runs of a notebook give the same models.
"""
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .builders import ADDER, adder_metric, adder_structure, check, question, rubric_toml

md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell

RUBRIC = rubric_toml(
    "tiny-adder",
    question("Q1", check("numeric_answer", expected=7), title="Largest 3-bit number"),
    question("Q2", adder_structure(partial_activations={"relu": {
        "fraction": 0.5, "en": "A relu head: its outputs are not probabilities."}}), title="The model"),
    question("Q4", adder_metric(3, 3, 500, {"zero": 0.5, "full": 0.95, "relative": True}), check("code_runs"),
             adder_metric(2, 5, 300, {"zero": 0.5, "full": 0.9}, "bit_accuracy", model="gated", visibility="hidden",
                          label="Gated cells on 5-bit numbers"),
             title="Training on 3-bit numbers"),
    question("Q5", adder_metric(2, 5, 500, {"zero": 0.5, "full": 0.99}, "bit_accuracy"), title="Longer numbers"),
    # the model "gated" only the hidden check asks for
    models={"adder": {**ADDER, "layers_any": ["SimpleRNN"]}, "gated": {**ADDER, "layers_any": ["GRU"]}},
    limits={"cell_timeout": 300, "notebook_timeout": 600},
    title={"es": "Sumador mínimo", "en": "Tiny adder"}, handout="handout.ipynb")
SETUP = """import numpy as np
import tensorflow as tf
import keras
from keras import layers
keras.utils.set_random_seed(1)
tf.config.experimental.enable_op_determinism()

def gen(n, bits):
    a = np.random.randint(0, 2**bits, n); b = np.random.randint(0, 2**bits, n)
    digits = lambda v: ((v[:, None] >> np.arange(bits + 1)) & 1).astype('float32')
    return np.stack([digits(a), digits(b)], -1), digits(a + b)[..., None]"""
BLANK = "# your code here"


def model_cell(name="model", head="sigmoid", units=8, layer="SimpleRNN") -> str:
    return (f"{name} = keras.Sequential([keras.Input((None, 2)), layers.{layer}({units}, return_sequences=True),"
            f" layers.Dense(1, activation='{head}')])\n"
            f"{name}.compile(keras.optimizers.Adam(0.01), 'binary_crossentropy')")


def train_cell(name="model", bits=3, epochs=10, n=3000) -> str:
    return f"x, y = gen({n}, {bits})\n{name}.fit(x, y, epochs={epochs}, batch_size=50, verbose=0)"


def cells(answer="7", head="sigmoid", epochs=10, q5=True, gated=False, extra=()):
    """The notebook's cells: the handout's, filled in (``q5``: with Q5's model; ``gated``: with the GRU the
    hidden check asks for; ``extra``: cells after)."""
    return [md("**Q1** ¿Cuál es el mayor número de 3 bits?"), md(answer), code(SETUP),
            md("**Q2** Define el modelo."), code(model_cell(head=head)),
            md("**Q4** Entrénalo con números de 3 bits."), code(train_cell(epochs=epochs)),
            *([code(model_cell("gated", layer="GRU") + "\n" + train_cell("gated", bits=5, epochs=5, n=1000))]
              if gated else []),
            md("**Q5** Números más largos."),
            code(model_cell("model_5") + "\n" + train_cell("model_5", bits=5, epochs=2, n=600) if q5 else BLANK),
            *extra]


def write(folder, name="student.ipynb", **options):
    """A notebook of the assignment in ``folder``; ``options`` as :func:`cells`."""
    path = folder / name
    nbformat.write(nbformat.v4.new_notebook(cells=cells(**options)), path)
    return path


def write_assignment(folder):
    """The rubric, handout and reference of the tiny assignment in ``folder``; the rubric's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rubric.toml").write_text(RUBRIC)
    handout = cells(answer="", q5=False)
    handout[4], handout[6] = code(BLANK), code(BLANK)
    nbformat.write(nbformat.v4.new_notebook(cells=handout), folder / "handout.ipynb")
    write(folder, "reference.ipynb", gated=True)
    return folder / "rubric.toml"


@dataclass
class Packed:
    root: Path
    rubric: Path
    pack: Path
    cache: Path             # XDG_CACHE_HOME that holds the reference's run

    def env(self) -> dict:
        return {"XDG_CACHE_HOME": str(self.cache), "PATH": "/usr/bin:/bin"}

    def grader(self, *args, timeout=600) -> subprocess.CompletedProcess:
        """``grader ARGS`` in a fresh process, with this assignment's cache."""
        return subprocess.run([sys.executable, "-m", "grader", *map(str, args)], capture_output=True, text=True,
                              env=self.env(), timeout=timeout)


def packed(tmp_path_factory) -> Packed:
    """The tiny assignment and its pack (seeds 3 to 7), made by ``grader pack`` once per test session."""
    root = tmp_path_factory.getbasetemp() / "tiny-assignment"
    made = Packed(root, root / "assignment" / "rubric.toml", root / "packs" / "tiny-adder.pack", root / "cache")
    if not made.pack.is_file():
        write_assignment(made.rubric.parent)
        done = made.grader("pack", "--assignment", made.rubric, "--out", made.pack.parent, "--seed", 3)
        assert done.returncode == 0, done.stderr
        (root / "pack-progress.txt").write_text(done.stderr)
        # what the cache held right after the pack was made (later tests grade the reference with other seeds)
        reference = made.cache / "grader" / "reference" / "tiny-adder" / "result.json"
        shutil.copy(reference, root / "reference-after-pack.json")
    return made

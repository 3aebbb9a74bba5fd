"""Student packs: what they hold and never hold, and grader check with a pack alone."""
import json
import re
import shutil
import statistics
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader import pack as packs
from grader import rubric as rubrics
from grader.harvest.answers import normalised

from .tiny_assignment import RUBRIC, packed, write

pytestmark = [pytest.mark.slow, pytest.mark.kernel]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return packed(tmp_path_factory)


def content(tiny) -> dict:
    return json.loads(tiny.pack.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("value", "problem"), [("secret", r"'secret' is not one of public, hidden"),
                                                 (1, "1 is not a text")])
def test_visibility_is_public_or_hidden(tmp_path, value, problem):
    rubric = RUBRIC.replace('handout = "handout.ipynb"', "").replace('visibility = "hidden"',
                                                                    f"visibility = {json.dumps(value)}")
    (tmp_path / "r.toml").write_text(rubric)
    with pytest.raises(rubrics.RubricError, match=r"questions\.Q4\.checks\[2\]\.visibility: " + problem):
        rubrics.load(tmp_path / "r.toml")


def test_visibility_defaults_to_public(tmp_path):
    (tmp_path / "r.toml").write_text(RUBRIC.replace('handout = "handout.ipynb"', ""))
    rubric = rubrics.load(tmp_path / "r.toml")
    assert [c.visibility for c in rubric.question("Q4").checks] == ["public", "public", "hidden"]
    assert "visibility" not in rubric.question("Q4").checks[2].options


def test_the_pack_holds_no_model_and_no_cell_of_the_reference(tiny):
    assert [p.name for p in tiny.pack.parent.iterdir()] == ["tiny-adder.pack"]   # one file: no model file beside it
    raw = tiny.pack.read_bytes()
    assert b"PK\x03\x04" not in raw and b"\x89HDF" not in raw        # no .keras (zip) or .h5 inside either
    text = raw.decode("utf-8")
    handout = {normalised(c.source) for c in nbformat.read(tiny.rubric.parent / "handout.ipynb", 4).cells}
    reference = nbformat.read(tiny.rubric.parent / "reference.ipynb", 4)
    own = [c for c in reference.cells if c.cell_type == "code" and normalised(c.source) not in handout]
    assert len(own) == 4                                                # model, training, gated, Q5
    for cell in own:
        for line in cell.source.splitlines():
            assert json.dumps(line.strip())[1:-1] not in text, line      # as it would be written in JSON
    assert "reference" not in content(tiny)["rubric"]["assignment"]
    # and none of the reference model's weights
    import keras
    saved = sorted((tiny.cache / "grader" / "reference" / "tiny-adder" / "models").glob("*.keras"))
    weights = np.concatenate([w.ravel() for w in keras.models.load_model(saved[-1]).get_weights()])
    assert len(weights) > 50
    assert not [w for w in weights[:50] if repr(float(w))[:9] in text]


def test_a_hidden_check_shows_by_id_title_and_points_only(tiny):
    data = content(tiny)
    assert data["hidden"] == [{"id": "Q4#2", "question": "Q4", "title": "Gated cells on 5-bit numbers",
                               "points": 2.0}]
    assert data["rubric"]["questions"][2]["checks"][2] == {"kind": "hidden", "points": 2.0, "visibility": "hidden",
                                                           "label": "Gated cells on 5-bit numbers"}
    assert list(data["rubric"]["models"]) == ["adder"]                   # the GRU selector only it used is gone
    assert "Q4#2" not in data["reference"] and "Q4#2" not in data["data"]
    assert "GRU" not in tiny.pack.read_text(encoding="utf-8")


def test_the_progress_names_the_reference_of_each_seed(tiny):
    said = (tiny.root / "pack-progress.txt").read_text()
    assert [f"reference, seed {seed}: notebook already run" in said for seed in (4, 5, 6, 7)] == [True] * 4, said
    assert not re.search(r"^\s*:", said, re.MULTILINE), said                # no line without its name


def test_the_reference_is_measured_on_several_seeds(tiny):
    data = content(tiny)
    assert data["seeds"] == [3, 4, 5, 6, 7] and data["grader"] == packs.grader_version()
    cached = json.loads((tiny.root / "reference-after-pack.json").read_text())
    assert cached["seed"] == 3                       # the cache keeps its own seed; the others ran in a copy
    for key in ("Q4#0", "Q5#0"):
        measured = data["reference"][key]
        assert measured["values"][0] == cached["measured"][key] and len(measured["values"]) == 5
        assert measured["mean"] == pytest.approx(statistics.fmean(measured["values"]))
        assert measured["spread"] == pytest.approx(statistics.pstdev(measured["values"]))
        assert set(measured["metrics"]) == {"bit_accuracy", "exact_accuracy"}
    assert data["reference"]["Q4#0"]["mean"] == 1.0
    assert len(set(data["reference"]["Q5#0"]["values"])) > 1             # other seeds, other fresh data
    assert data["data"]["Q5#0"] == {"kind": "binary_addition", "params": {"max_bit": 5}, "samples": 500,
                                    "metric": "bit_accuracy", "source": {}}


def test_check_grades_with_the_pack_alone(tiny, tmp_path):
    shutil.copy(tiny.pack, tmp_path / "tiny.pack")
    notebook = write(tmp_path, "ana.ipynb")
    done = tiny.grader("check", notebook, "--pack", tmp_path / "tiny.pack", "--seed", 5, "--lang", "en",
                       "--out", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert "Reference solution" not in done.stderr                       # the reference never runs
    result = json.loads((tmp_path / "out" / "ana" / "result.json").read_text())
    assert re.search(r"^Q4 +4/6 +After hand-in", done.stdout, re.M)
    assert re.search(rf"^Total +{result['score']:g}/11$", done.stdout, re.M)
    q4 = next(c for c in result["checks"] if c["id"] == "Q4")
    assert q4["status"] == "hidden" and [d["status"] for d in q4["details"]] == ["pass", "pass", "hidden"]
    assert "Reference: 1 (mean of the pack's 5 seeds, ±0)." in q4["details"][0]["feedback"]
    assert q4["details"][2]["feedback"] == "Graded after hand-in." and q4["details"][2]["visibility"] == "hidden"


def rewritten(data: dict, **changes) -> str:
    """The pack with ``changes``, its hash made to fit again (as a grader that made it would)."""
    data = {**data, **changes}
    data["sha256"] = packs._sha256(data)
    return json.dumps(data)


BROKEN = {
    "truncated": (lambda data, text: text[: len(text) // 2], "damaged pack (not readable as a pack): download it"),
    "edited": (lambda data, text: text.replace('"mean": 1.0', '"mean": 0.5', 1),
               "changed after it was made (its SHA-256 does not match its content)"),
    "another grader": (lambda data, text: rewritten(data, grader="0.0.9+0123456789ab"),
                       "made by grader 0.0.9+0123456789ab, and this is grader 0.1.0+"),
    "another format": (lambda data, text: rewritten(data, format_version=2),
                       "a pack of format 2 made by grader 0.1.0+"),
    "not a pack": (lambda data, text: json.dumps({"cells": []}), "not a grader pack: ask your instructor"),
}


@pytest.mark.parametrize("kind", list(BROKEN))
def test_a_broken_pack_is_refused_in_one_line(tiny, tmp_path, kind):
    damage, said = BROKEN[kind]
    text = tiny.pack.read_text(encoding="utf-8")
    (tmp_path / "broken.pack").write_text(damage(json.loads(text), text), encoding="utf-8")
    notebook = write(tmp_path, "ana.ipynb")
    done = tiny.grader("check", notebook, "--pack", tmp_path / "broken.pack", "--out", tmp_path / "out", timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"grader: error: {tmp_path / 'broken.pack'}: ")
    assert said in done.stderr
    assert not (tmp_path / "out").exists()                                # nothing ran


def test_a_pack_for_another_or_an_older_rubric_is_refused(tiny, tmp_path):
    notebook = write(tmp_path, "ana.ipynb")
    out = ("--out", tmp_path / "out")
    other = tiny.grader("check", notebook, "--pack", tiny.pack, "--assignment", "practica1", *out, timeout=60)
    assert other.returncode == 2
    assert other.stderr == f"grader: error: {tiny.pack}: a pack for tiny-adder, not practica1: use the pack of " \
                           f"practica1\n"
    changed = tmp_path / "assignment"
    shutil.copytree(tiny.rubric.parent, changed)
    (changed / "rubric.toml").write_text(RUBRIC.replace("points = 3", "points = 4"))
    stale = tiny.grader("check", notebook, "--pack", tiny.pack, "--assignment", changed / "rubric.toml", *out,
                        timeout=60)
    assert stale.returncode == 2
    assert stale.stderr == f"grader: error: {tiny.pack}: stale: made from an older rubric.toml: run grader pack " \
                           f"--assignment tiny-adder\n"
    same = tiny.grader("check", notebook, "--pack", tiny.pack, "--assignment", tiny.rubric, *out, "--seed", 5)
    assert same.returncode == 0, same.stderr


def test_a_folder_with_one_pack_is_that_pack(tiny):
    assert packs.locate(tiny.pack.parent) == tiny.pack
    assert packs.read_pack(tiny.pack.parent).rubric.name == "tiny-adder"
    with pytest.raises(packs.PackError, match="a folder with 0 .pack files"):
        packs.locate(Path(tiny.rubric.parent))

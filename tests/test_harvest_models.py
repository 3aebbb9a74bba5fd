"""The kernel's record of its models is written inside the sandbox: read_models takes nothing on trust.

A notebook can append anything to ``manifest.jsonl`` and put anything in its
models folder (copied out as plain files). Only versions whose file is a
regular file directly in the models folder count, and no record, however
malformed, makes the harvest fail.
"""
import json
import os

import pytest

from grader.harvest.models import MAX_MANIFEST_BYTES, read_models

CELLS = {1: 3, 2: 5, 3: 9}  # kernel execution count -> notebook cell


def write_manifest(folder, *lines):
    folder.mkdir(parents=True, exist_ok=True)
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    (folder / "manifest.jsonl").write_text(text + "\n")


def version(file, model=1, count=2, **extra):
    return {"event": "version", "model": model, "execution_count": count, "file": file, "flavour": "keras3", **extra}


@pytest.fixture
def models(tmp_path):
    folder = tmp_path / "out" / "ana" / "models"
    folder.mkdir(parents=True)
    (folder / "model-1-v1.keras").write_bytes(b"PK")
    return folder


def test_an_honest_manifest_is_read_in_order(models):
    (models / "model-2-v1.h5").write_bytes(b"HDF")
    write_manifest(models,
                   {"event": "seen", "model": 1, "names": ["model"], "execution_count": 1},
                   {"event": "fit", "model": 1, "execution_count": 2, "params": {"epochs": 3},
                    "history": {"loss": [0.7, 0.5, 0.3]}},
                   version("model-1-v1.keras"),
                   {"event": "seen", "model": 2, "names": ["old", "legacy"], "execution_count": 3},
                   version("model-2-v1.h5", model=2, count=3, flavour="legacy"))
    first, second = read_models(models, CELLS)
    assert (first.model, first.version, first.path, first.cell) == (1, 1, models / "model-1-v1.keras", 5)
    assert first.names == ["model"] and first.flavour == "keras3"
    assert first.fits == [{"cell": 5, "params": {"epochs": 3}, "history": {"loss": [0.7, 0.5, 0.3]}}]
    assert (second.path, second.flavour, second.names, second.label) == (models / "model-2-v1.h5", "legacy",
                                                                          ["old", "legacy"], "legacy")


@pytest.mark.parametrize("name", ["../model-1-v1.keras", "../../ana/models/model-1-v1.keras", "sub/model.keras",
                                  "sub/../model-1-v1.keras", "./model-1-v1.keras/", "sub", ".", "..", "",
                                  "/etc/passwd", "ABSOLUTE"])
def test_a_file_outside_the_models_folder_is_never_taken(models, name):
    """Forged names point at files that exist: the folder's parent, a subfolder, an absolute path."""
    (models / "sub").mkdir()
    (models / "sub" / "model.keras").write_bytes(b"PK")
    (models.parent / "model-1-v1.keras").write_bytes(b"PK")   # out/ana/model-1-v1.keras
    if name == "ABSOLUTE":
        name = str(models / "model-1-v1.keras")                # inside, but written as an absolute path
    write_manifest(models, version(name))
    assert [v.path for v in read_models(models, CELLS)] == [None]


def test_a_symlink_in_the_models_folder_is_not_a_model(models, tmp_path):
    (tmp_path / "elsewhere.keras").write_bytes(b"PK")
    os.symlink(tmp_path / "elsewhere.keras", models / "model-2-v1.keras")
    os.symlink(models / "model-1-v1.keras", models / "model-3-v1.keras")  # even one pointing inside
    write_manifest(models, version("model-2-v1.keras", model=2), version("model-3-v1.keras", model=3))
    assert [v.path for v in read_models(models, CELLS)] == [None, None]


def test_a_record_for_a_file_that_does_not_exist_has_no_path(models):
    write_manifest(models, version("model-9-v1.keras", model=9))
    assert [(v.model, v.path) for v in read_models(models, CELLS)] == [(9, None)]


MALFORMED = [
    "not json at all", "", "[1, 2]", '"version"', "17", "null", "[" * 100_000,  # not objects; nested too deep
    {"event": "version", "model": "x", "execution_count": 2, "file": "model-1-v1.keras"},
    {"event": "version", "model": 1, "execution_count": "y", "file": "model-1-v1.keras"},
    {"event": "version", "model": 1, "file": "model-1-v1.keras"},
    {"event": "version", "model": [1], "execution_count": 2, "file": "model-1-v1.keras"},
    '{"event": "version", "model": Infinity, "execution_count": 2, "file": "model-1-v1.keras"}',
    '{"event": "seen", "model": 1, "execution_count": NaN, "names": ["nan"]}',
    {"event": "seen", "model": 1, "execution_count": 1, "names": {"dict": "of names"}},
    {"event": "seen", "model": 1, "execution_count": 1, "names": "model"},
    {"event": "seen", "model": 1, "execution_count": 1, "names": 5},
    {"event": "seen", "model": 1, "execution_count": 1, "names": [5, None, ["x"], {"a": 1}]},
    {"event": "fit", "model": 1, "execution_count": 2, "params": "epochs=3", "history": {"loss": 5}},
    {"event": "fit", "model": 1, "execution_count": 2, "params": [1], "history": {"loss": ["a", {}]}},
    {"event": "fit", "model": 1, "execution_count": 2, "history": [0.5]},
    {"event": "explode", "model": 1, "execution_count": 2},
]


@pytest.mark.parametrize("record", MALFORMED, ids=range(len(MALFORMED)))
def test_a_malformed_record_is_ignored_and_the_others_still_count(models, record):
    write_manifest(models, record, version(1), version("model-1-v1.keras"), record)
    *_, honest = read_models(models, CELLS)
    assert (honest.model, honest.path, honest.cell) == (1, models / "model-1-v1.keras", 5)
    assert honest.names == [] and honest.fits == []


def test_names_are_capped_and_cut(models):
    write_manifest(models,
                   {"event": "seen", "model": 1, "execution_count": 1, "names": [f"n{i}" for i in range(1000)]},
                   {"event": "seen", "model": 1, "execution_count": 1, "names": ["x" * 10_000] * 5},
                   version("model-1-v1.keras"))
    names = read_models(models, CELLS)[0].names
    assert names[:20] == [f"n{i}" for i in range(20)] and names[20:] == ["x" * 100]


def test_a_huge_manifest_is_read_only_up_to_its_cap(models):
    """A notebook can write gigabytes to the manifest: the grader reads a bounded prefix."""
    filler = json.dumps({"event": "seen", "model": 7, "execution_count": 1, "names": ["filler"]})
    lines = [filler] * (MAX_MANIFEST_BYTES // len(filler) + 10)
    write_manifest(models, version("model-1-v1.keras"), *lines, version("model-1-v1.keras", model=2))
    assert (models / "manifest.jsonl").stat().st_size > MAX_MANIFEST_BYTES
    assert [v.model for v in read_models(models, CELLS)] == [1]   # the record past the cap is never read


def test_no_manifest_or_no_folder_means_no_models(tmp_path):
    assert read_models(tmp_path / "missing", CELLS) == []
    assert read_models(tmp_path, CELLS) == []


@pytest.mark.parametrize("params", ["epochs=3", [3, 20], 7, True], ids=["string", "list", "number", "bool"])
def test_a_training_run_with_params_that_are_not_an_object_keeps_its_history_without_them(models, params):
    """The history of a well-formed fit still counts, but its params are read as none at all: later code asks
    them for ``steps`` and ``epochs`` by name."""
    write_manifest(models,
                   {"event": "fit", "model": 1, "execution_count": 2, "params": params, "history": {"loss": [0.5]}},
                   version("model-1-v1.keras"))
    [honest] = read_models(models, CELLS)
    assert honest.fits == [{"cell": 5, "params": {}, "history": {"loss": [0.5]}}]


def test_the_code_beside_a_model_is_taken_only_as_a_regular_file(models, tmp_path):
    """``<stem>.code.pkl`` (unpickled by the predictor) and ``<stem>.code.json`` beside a model are read only when
    they are regular files: a symlink by those names, to a file outside or inside the folder, is not taken."""
    (models / "model-2-v1.keras").write_bytes(b"PK")
    (models / "model-2-v1.code.pkl").write_bytes(b"pickle")
    (models / "model-2-v1.code.json").write_text("{}")
    (tmp_path / "elsewhere.code.pkl").write_bytes(b"pickle")
    os.symlink(tmp_path / "elsewhere.code.pkl", models / "model-1-v1.code.pkl")
    os.symlink(models / "model-2-v1.code.json", models / "model-1-v1.code.json")
    write_manifest(models, version("model-1-v1.keras"), version("model-2-v1.keras", model=2))
    symlinked, regular = read_models(models, CELLS)
    assert symlinked.path == models / "model-1-v1.keras"
    assert (symlinked.code, symlinked.code_notes) == (None, None)
    assert (regular.code, regular.code_notes) == (models / "model-2-v1.code.pkl", models / "model-2-v1.code.json")

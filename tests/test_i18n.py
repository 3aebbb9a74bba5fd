"""One catalog of messages: every key in every language, and every key the code or a template uses is in it."""
import ast
import re
import string
from pathlib import Path

import pytest

from grader import i18n

from .builders import question, rubric_toml, seven_bits

GRADER = Path(__file__).resolve().parent.parent / "grader"
SAYING = {"say", "text", "each_language", "words"}      # functions whose first argument is a message key
NAMESPACES = {key.split(".")[0] for key in i18n.MESSAGES if "." in key}


def fields(words: str) -> set[str]:
    """The parameters ``words`` takes (``{encoding[es]}`` takes ``encoding``)."""
    return {re.split(r"[.\[]", name)[0] for _, name, _, _ in string.Formatter().parse(words) if name is not None}


@pytest.mark.parametrize("key", sorted(i18n.MESSAGES))
def test_every_message_is_in_every_language_with_the_same_parameters(key):
    said = i18n.MESSAGES[key]
    assert isinstance(said, tuple) and len(said) == len(i18n.LANGS), key
    assert all(isinstance(words, str) and words.strip() for words in said), key
    assert len({frozenset(fields(words)) for words in said}) == 1, key


def used_keys() -> set[tuple[str, str]]:
    """(where, key) of every message key written in the grader's code and templates."""
    found = set()
    for path in GRADER.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name in SAYING and isinstance(node.args[0].value, str):
                    found.add((f"{path.name}:{node.lineno}", node.args[0].value))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                    re.fullmatch(rf"(?:{'|'.join(NAMESPACES)})\.\w+", node.value):
                found.add((f"{path.name}:{node.lineno}", node.value))
    for path in [*GRADER.rglob("*.j2")]:
        found |= {(path.name, key) for key in re.findall(r"\bt\(\"(\w+)\"\)", path.read_text(encoding="utf-8"))}
    return found


def test_every_key_the_code_uses_is_in_the_catalog():
    used = used_keys()
    assert len(used) > 300   # the scan sees the checks, the runner, the notes and the templates
    missing = sorted(f"{where}: {key}" for where, key in used if key not in i18n.MESSAGES)
    assert missing == []


def test_a_message_takes_its_parameters_in_each_language():
    assert i18n.text("metric.training_of", "es", label="m") == "Entrenamiento de «m»"
    assert i18n.text("metric.training_of", "en", label="m") == "Training of “m”"
    assert i18n.each_language("intake.several_files", count=2, file="a.ipynb", attempt="",
                              not_graded={"es": "b.py (no es un cuaderno)", "en": "b.py (not a notebook)"}) == {
        "es": "2 archivos entregados: se corrige a.ipynb (el más reciente). No se corrigen: b.py (no es un cuaderno).",
        "en": "2 files handed in: a.ipynb is graded (the latest). Not graded: b.py (not a notebook)."}
    assert i18n.text("no such key", "en") == "no such key"


def test_the_report_words():
    for status in ("pass", "partial", "fail", "manual", "skipped", "timeout", "not_run", "killed"):
        assert i18n.text(status, "es") != i18n.text(status, "en")
    assert i18n.text("pass") == "Superado" and i18n.text("manual", "en") == "Human review"


def test_what_the_machine_says_reaches_a_spanish_report_in_spanish(tmp_path):
    """The sandbox's warning, a model file the grader cannot load and a submission the grader failed on are
    said in the report's language (the machine's own words, such as a tool's error, stay as they came)."""
    from grader.batch import failed_result
    from grader.evaluate.models import RefusedModel
    from grader.execute.sandbox import Sandbox
    from grader.grade import Job

    none = Sandbox("none", "bubblewrap is not installed")
    assert none.warning_in("es").startswith("El código del estudiante se ejecutó SIN aislamiento "
                                            "(bubblewrap is not installed)")
    assert none.warning == none.warning_in("en") and "WITHOUT a sandbox (bubblewrap is not installed)" in none.warning
    assert "(a petición)" in Sandbox("unshare").warning_in("es") and Sandbox("bubblewrap").warning_in("es") == ""

    refused = RefusedModel("model.unreadable", error_type="BadZipFile")
    assert refused.words["es"] == "el archivo del modelo no se puede leer (BadZipFile)"
    assert str(refused) == "the model file is unreadable (BadZipFile)"

    (tmp_path / "rubric.toml").write_text(rubric_toml("tiny", question("Q1", seven_bits())), encoding="utf-8")
    job = Job(submission="ana", notebook=str(tmp_path / "ana.ipynb"), assignment=str(tmp_path / "rubric.toml"),
              out_dir=str(tmp_path / "out"), seed=1, lang="es")
    result = failed_result(job, "failure.infrastructure", times={"es": "2 veces", "en": "2 times"},
                           error_type="BrokenProcessPool", error="gone")
    assert result.problems == ["La infraestructura de corrección falló 2 veces con esta entrega (BrokenProcessPool: "
                               "gone); no es culpa del estudiante: vuelva a corregirla."]
    assert [check.status for check in result.checks] == ["error"] and result.score == 0

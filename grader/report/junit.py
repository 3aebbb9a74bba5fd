"""JUnit XML of ``grader validate``, the format CI systems read (GitLab, Jenkins, GitHub).

One ``testsuite`` per assignment, one ``testcase`` per check (classname: the
assignment, name: the check's id); a check that falls short gets a
``failure`` holding its feedback. Problems of the whole notebook (a deadline,
a refused model) are one more testcase, ``problems``, so that the XML fails
exactly when ``grader validate`` exits non-zero.
"""
from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

from ..atomic import write_text_atomic
from ..result import Check, Result

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")  # characters XML 1.0 forbids


def falls_short(check: Check) -> bool:
    """True when a reference solution misses automatic points on ``check`` (human review is not judged here)."""
    return check.status not in ("pass", "manual")


def write_junit(results: list[Result], path) -> None:
    """Write the JUnit XML of the reference solutions' ``results`` to ``path``."""
    root = ElementTree.Element("testsuites")
    for result in results:
        failures = sum(map(falls_short, result.checks)) + bool(result.problems)
        suite = ElementTree.SubElement(root, "testsuite", name=result.assignment,
                                       tests=str(len(result.checks) + bool(result.problems)),
                                       failures=str(failures), errors="0",
                                       time=f"{result.timings.get('total', 0):.2f}")
        properties = ElementTree.SubElement(suite, "properties")
        ElementTree.SubElement(properties, "property", name="seed", value=str(result.seed))
        for check in result.checks:
            case = ElementTree.SubElement(suite, "testcase", classname=result.assignment, name=check.id)
            if falls_short(check):
                _fail(case, check.status, check.feedback or f"{check.score:g}/{check.max_score:g} points")
        if result.problems:
            _fail(ElementTree.SubElement(suite, "testcase", classname=result.assignment, name="problems"),
                  "problem", "\n".join(result.problems))
    ElementTree.indent(root)
    write_text_atomic(Path(path), ElementTree.tostring(root, encoding="unicode", xml_declaration=True) + "\n")


def _fail(case, kind: str, text: str) -> None:
    text = _NOT_XML.sub("", text)
    failure = ElementTree.SubElement(case, "failure", type=kind, message=next(iter(text.splitlines()), ""))
    failure.text = text

"""Find each question's cells in a notebook and the answer written there.

A label (``Q1``, ``**Q1**``, ``E1:``, ``Pregunta 1.``, ``## Ejercicio 1``,
``# E1`` in a code comment) counts at the start of a line. A label that is
only a number (``1.``) counts only in a markdown heading or in bold, and
only for a question none of whose other labels is found outside a listing:
numbered lists are everywhere.

Handouts list statements together and students repeat labels, so the first
label is not always where the work is. The rule:

- every occurrence of every label is found (cell, offset); occurrences in a
  cell holding labels of two or more questions are *listing* occurrences;
- an occurrence's span runs to the next occurrence of any label;
- a question opens at its first non-listing occurrence whose span holds
  work (a code cell, or a markdown cell with text, after the label's own
  cell; a label in a code cell is work itself); else at its first
  non-listing occurrence; else at its first listing occurrence, split
  inside the cell by offset;
- it ends at the next occurrence of another question's label, so a cell
  that lists statements is in nobody's section.

The answer is the text written in the section: markdown, and comments of
code cells. In the opening cell, markdown up to the last question mark is
the prompt, not the answer. Cells identical to the handout's give no answer.
When the rule had to choose (it passed over occurrences, fell back, or found
the label only in a listing), the section carries a note naming its cells.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import lru_cache

from ..i18n import each_language

_PREFIX = r"^[ \t>*_#\-]*(?:\d+\.\s*)?[*_]*"
_NUMBER_PREFIX = r"^[ \t>]*(?:#{1,6}[ \t]+[*_]*|\*\*|__)"   # a heading or bold


@dataclass
class Section:
    question: str
    start: int                      # first cell of the question's work
    end: int                        # one past the last cell
    answer: str = ""
    code_cells: list[int] = field(default_factory=list)
    given_cells: list[int] = field(default_factory=list)   # code cells identical to the handout's
    note: dict = field(default_factory=dict)               # {lang: words}: which cells, when the rule had to choose


@dataclass(frozen=True)
class _Label:
    """One occurrence of a question's label."""
    cell: int
    offset: int                     # where the label starts in the cell's text
    end: int                        # where it ends
    question: str
    by_number: bool = False         # found as a bare number

    @property
    def position(self) -> tuple[int, int]:
        return self.cell, self.offset


def _label_pattern(labels: list[str]) -> re.Pattern | None:
    names = "|".join(re.escape(label).replace(r"\ ", r"\s+") for label in labels)
    if not names:
        return None
    return re.compile(_PREFIX + rf"(?:{names})(?![\w\d])[*_]*\s*[.:)\-–—]?[*_]*", re.IGNORECASE | re.MULTILINE)


def _number_pattern(numbers: list[str]) -> re.Pattern | None:
    if not numbers:
        return None
    return re.compile(_NUMBER_PREFIX + rf"(?:{'|'.join(numbers)})[.:)]?[*_]*(?=\s|$)", re.MULTILINE)


def cell_text(cell) -> str:
    """The prose of a cell: markdown as is; comments of code cells, then the sentences they print."""
    if cell.cell_type == "markdown":
        return cell.source
    if cell.cell_type == "code":
        comments = [line.split("#", 1)[1].strip() for line in cell.source.splitlines() if line.strip().startswith("#")]
        return "\n".join(comments + _printed(cell.source))
    return ""


def _printed(source: str) -> list[str]:
    """Sentences a cell prints as plain text (``print("Con más neuronas ...")``): analyses written as code.

    Only string literals of six words or more: a formatted result line is output, not an answer.
    """
    if "print" not in source:
        return []
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):  # IPython syntax, or a cell that does not parse
        return []
    return [arg.value.strip() for node in ast.walk(tree) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name) and node.func.id == "print" for arg in node.args
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and len(arg.value.split()) >= 6]


def normalised(source: str) -> str:
    """A cell's source compared with the handout's: no line-ending, trailing-space or blank-line differences."""
    return "\n".join(line.rstrip() for line in source.splitlines() if line.strip())


def find_sections(cells, questions: dict[str, list[str]], handout: frozenset = frozenset()) -> dict[str, Section]:
    """Locate every question that has a label in ``cells``.

    ``questions`` maps id to labels; ``handout`` holds the (cell type, :func:`normalised` source) of the
    handout's cells, whose copies in the notebook are not the student's own.
    """
    texts = [cell_text(cell) for cell in cells]
    labels = _occurrences(cells, texts, questions)
    listings = _listing_cells(labels)
    given = {i for i, cell in enumerate(cells) if (cell.cell_type, normalised(cell.source)) in handout}
    statements = _handout_trigrams(handout)
    sections = {}
    for qid in questions:
        own = [label for label in labels if label.question == qid]
        if own and not _only_stated(own, labels, listings):
            opening, note = _opening(own, labels, listings, cells, texts)
            sections[qid] = _section(opening, labels, cells, texts, given, statements)
            sections[qid].note = note
    return sections


@lru_cache(maxsize=8)
def _handout_trigrams(handout: frozenset) -> frozenset:
    """The word trigrams of the handout's markdown, once per handout (a batch grades many notebooks)."""
    return frozenset().union(*(_trigrams(source) for kind, source in handout if kind == "markdown"))


def _only_stated(own: list[_Label], labels: list[_Label], listings: set[int]) -> bool:
    """True when the question is only named in a list of statements whose other questions are answered elsewhere.

    Its statement is then the handout's, not an answer: the question is not in the notebook.
    """
    if any(label.cell not in listings for label in own):
        return False
    listed = {label.question for label in labels if label.cell in {o.cell for o in own}} - {own[0].question}
    return any(label.question in listed and label.cell not in listings for label in labels)


def _occurrences(cells, texts, questions) -> list[_Label]:
    """Every label of every question, in notebook order; bare numbers only where nothing better is found."""
    found = []
    for qid, names in questions.items():
        words = _label_pattern([name for name in names if not name.isdigit()])
        numbers = _number_pattern([name for name in names if name.isdigit()])
        for index, cell in enumerate(cells):
            if words:
                found += [_Label(index, m.start(), m.end(), qid) for m in words.finditer(texts[index])]
            if numbers and cell.cell_type == "markdown":
                found += [_Label(index, m.start(), m.end(), qid, True) for m in numbers.finditer(texts[index])]
    named = [label for label in found if not label.by_number]
    listed = _listing_cells(named)
    placed = {label.question for label in named if label.cell not in listed}
    return sorted((label for label in found if not (label.by_number and label.question in placed)),
                  key=lambda label: label.position)


def _listing_cells(labels: list[_Label]) -> set[int]:
    """Cells that hold labels of two or more questions (a handout's list of statements)."""
    questions_in = {}
    for label in labels:
        questions_in.setdefault(label.cell, set()).add(label.question)
    return {cell for cell, questions in questions_in.items() if len(questions) > 1}


def _next(labels: list[_Label], after: _Label, other_than: str = "") -> _Label | None:
    return next((label for label in labels if label.position > after.position and label.question != other_than), None)


def _holds_work(label: _Label, labels, cells, texts) -> bool:
    """Work follows the label: a cell with code or text before the next label (a label in code is work)."""
    if cells[label.cell].cell_type == "code":
        return True
    following = _next(labels, label)
    stop = following.cell if following else len(cells)
    return any((cells[i].source if cells[i].cell_type == "code" else texts[i]).strip()
               for i in range(label.cell + 1, stop))


def _answered_in_place(alone: list[_Label], labels, texts) -> _Label | None:
    """Of a label the student repeats at once ("**Q1** ¿...?", then "### Q1 127"), the one followed by text."""
    if not alone:
        return None
    run = [alone[0]]
    for label in alone[1:]:
        if _next(labels, run[-1]) is not label:  # another question comes between: not a repetition
            break
        run.append(label)
    return next((label for label in run if _after_prompt(label, _next(labels, label), texts).strip()), None)


def _after_prompt(label: _Label, following: _Label | None, texts) -> str:
    """The markdown written after a label in its own cell, up to the next label, without the question's prompt."""
    text = texts[label.cell]
    text = text[label.end:following.offset if following and following.cell == label.cell else len(text)]
    return text[text.rindex("?") + 1:] if "?" in text else text


def _trigrams(text: str) -> set[tuple[str, ...]]:
    words = re.sub(r"[^\w]+", " ", text.lower()).split()
    return set(zip(words, words[1:], words[2:]))


def _from_handout(text: str, statements: frozenset) -> bool:
    """True when ``text`` is nearly all the handout's wording (``statements``: its markdown's word trigrams).

    Students copy a question's statement above their work; it is not their answer.
    """
    trigrams = _trigrams(text)
    return len(trigrams) >= 3 and len(trigrams & statements) >= 0.8 * len(trigrams)


def _opening(own: list[_Label], labels, listings: set[int], cells, texts) -> tuple[_Label, dict]:
    """Where the question's work opens, and a note when that had to be chosen."""
    alone = [label for label in own if label.cell not in listings]
    opening = next((label for label in alone if _holds_work(label, labels, cells, texts)), None) or \
        _answered_in_place(alone, labels, texts)
    reasons = []
    if opening is None and alone:
        opening = alone[0]
        if len(alone) > 1:
            numbers = _cells(label.cell for label in alone)
            reasons.append(each_language("answers.label_without_work", cells=numbers))
    elif opening is None:
        opening = own[0]
        return opening, _note(opening, labels, cells, [each_language("answers.label_only_in_listing",
                                                                     cell=opening.cell + 1)])
    passed = [label for label in own if label.position < opening.position]
    listed = [label.cell for label in passed if label.cell in listings]
    if listed:
        reasons.append(each_language("answers.statement_lists" if len(listed) == 1 else "answers.statements_list",
                                     cells=_cells(listed)))
    # a label followed at once by the same label ("Q5", then "# Q5" in the code) is no doubt: not noted
    idle = [label.cell for label in passed
            if label.cell not in listings and _next(labels, label).question != label.question]
    if idle:
        reasons.append(each_language("answers.label_idle" if len(idle) == 1 else "answers.labels_idle",
                                     cells=_cells(idle)))
    return opening, _note(opening, labels, cells, reasons) if reasons else {}


def _cells(indices) -> str:
    return ", ".join(str(i + 1) for i in indices)


def _span(opening: _Label, labels, cells) -> tuple[int, _Label | None]:
    """One past the section's last cell, and the label that ends it (None at the notebook's end)."""
    following = _next(labels, opening, other_than=opening.question)
    return (max(following.cell, opening.cell + 1) if following else len(cells)), following


def _note(opening: _Label, labels, cells, reasons: list[dict]) -> dict:
    """``E1: cells 25-27; why``, in every language."""
    first, last = opening.cell + 1, _span(opening, labels, cells)[0]
    taken = each_language("answers.cell", cell=first) if first == last else \
        each_language("answers.cells", first=first, last=last)
    return {lang: f"{opening.question}: {taken[lang]}; " + "; ".join(reason[lang] for reason in reasons)
            for lang in taken}


def _section(opening: _Label, labels, cells, texts, given: set[int], statements: frozenset) -> Section:
    end, following = _span(opening, labels, cells)
    section = Section(opening.question, opening.cell, end)
    repeated = {label.cell: label for label in labels if label.question == opening.question
                and label.cell > opening.cell}  # the student's own "### Q1" above the answer is not the answer
    parts = []
    for i in range(opening.cell, end):
        if cells[i].cell_type == "code":
            section.code_cells.append(i)
            if i in given:
                section.given_cells.append(i)
        if i in given:
            continue
        text = texts[i]
        if i == opening.cell and cells[i].cell_type == "markdown":
            text = _after_prompt(opening, _next(labels, opening), texts)
            text = "" if _from_handout(text, statements) else text
        elif i == opening.cell:
            text = text[opening.end:following.offset if following and following.cell == i else len(text)]
        elif i in repeated:
            text = text[:repeated[i].offset] + text[repeated[i].end:]
        if text.strip():
            parts.append(text.strip())
    section.answer = "\n\n".join(parts)
    return section

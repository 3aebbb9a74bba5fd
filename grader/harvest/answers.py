"""Find each question's place in a notebook and the answer written there.

A question starts at the first cell with one of its labels at the start of
a line (``Q1``, ``**Q1**``, ``Q1.``, ``## Pregunta 1``, ``# Q1`` in a code
comment) and runs to the next question's label. Its answer is the text
written there: markdown, and comments in code cells. In the label's own
cell, text up to the last question mark is taken as the handout's prompt.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_PREFIX = r"^[ \t>*_#\-]*(?:\d+\.\s*)?[*_]*"


@dataclass
class Section:
    question: str
    start: int                      # first cell (the label's cell)
    end: int                        # one past the last cell
    answer: str = ""
    code_cells: list[int] = field(default_factory=list)


def _label_pattern(labels: list[str]) -> re.Pattern:
    names = "|".join(re.escape(label).replace(r"\ ", r"\s+") for label in labels)
    return re.compile(_PREFIX + rf"(?:{names})(?![\w\d])[*_]*\s*[.:)\-–—]?", re.IGNORECASE | re.MULTILINE)


def cell_text(cell) -> str:
    """The prose of a cell: markdown as is; comments of code cells."""
    if cell.cell_type == "markdown":
        return cell.source
    if cell.cell_type == "code":
        return "\n".join(line.split("#", 1)[1].strip() for line in cell.source.splitlines()
                         if line.strip().startswith("#"))
    return ""


def find_sections(cells, questions: dict[str, list[str]]) -> dict[str, Section]:
    """Locate every question that has a label in ``cells``; ``questions`` maps id to labels."""
    found = []  # (cell index, offset in text, question id, end of label)
    for qid, labels in questions.items():
        pattern = _label_pattern(labels)
        for index, cell in enumerate(cells):
            match = pattern.search(cell_text(cell) if cell.cell_type == "code" else cell.source)
            if match:
                found.append((index, match.start(), qid, match.end()))
                break
    found.sort()
    sections = {}
    for position, (index, _, qid, label_end) in enumerate(found):
        following = found[position + 1] if position + 1 < len(found) else None
        end = max(following[0], index + 1) if following else len(cells)
        section = Section(qid, index, end)
        parts = []
        for i in range(index, end):
            text = cell_text(cells[i]) if cells[i].cell_type == "code" else cells[i].source
            if i == index:
                stop = following[1] if following and following[0] == index else len(text)
                text = text[label_end:stop] if cells[i].cell_type != "code" else text
                if cells[i].cell_type == "markdown" and "?" in text:
                    text = text[text.rindex("?") + 1:]
            elif following and i == following[0]:
                text = text[:following[1]]
            if text.strip():
                parts.append(text.strip())
            if cells[i].cell_type == "code":
                section.code_cells.append(i)
        section.answer = "\n\n".join(parts)
        sections[qid] = section
    return sections

"""The one LaTeX table writer of the project: a ``table`` float with caption, label, a rule
between row groups and the notes below, every cell escaped so the file compiles without utf8
input (±, Δ and the minus become math)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from mgat.render.numbers import MINUS

__all__ = ["latex_escape", "latex_table"]

_LATEX_CHARS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "±": r"$\pm$",
    "Δ": r"$\Delta$",
    MINUS: r"$-$",
    "\u2014": "---",  # em dash
    "\u2013": "--",  # en dash
}


def latex_escape(text: str) -> str:
    """Escape LaTeX special characters; ±, Δ and minus become math, so no utf8 input is needed."""
    return "".join(_LATEX_CHARS.get(ch, ch) for ch in text)


def latex_table(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    label: str,
    groups: Sequence[int] = (),
    notes: Sequence[str] = (),
    numeric_from: int = 0,
) -> str:
    """A LaTeX table float; ``groups`` are the indices of rows that start a row group (a
    ``\\midrule`` goes above each), columns from ``numeric_from`` on are right-aligned."""
    escaped = [latex_escape(h) for h in headers]
    frame = pd.DataFrame([[latex_escape(c) for c in row] for row in rows], columns=escaped)
    column_format = "l" * numeric_from + "r" * (len(escaped) - numeric_from)
    text = frame.style.hide(axis="index").to_latex(
        caption=latex_escape(title),
        label=label,
        hrules=True,
        position_float="centering",
        environment="table",
        column_format=column_format,
    )
    # Styler has no rules between row groups: add a \midrule before each group's first row.
    lines = text.splitlines()
    body_start = lines.index(r"\midrule") + 1
    for offset in sorted(groups, reverse=True):
        if 0 < offset < len(rows):
            lines.insert(body_start + offset, r"\midrule")
    end = lines.index(r"\end{table}")
    lines.insert(end, r"\par\smallskip{\footnotesize " + " ".join(map(latex_escape, notes)) + "}")
    return "\n".join(lines) + "\n"

"""The one Markdown table writer of the project: every cell escaped, so a ``|`` in a header or a
value (``||X'-X||``) never breaks a row, and a ``*`` (``DRSA*``) never turns into emphasis."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["escape", "markdown_section", "markdown_table"]

# Intraword underscores (alpha_ii) never start emphasis in CommonMark: left as they are.
_ESCAPED = str.maketrans({"\\": "\\\\", "|": "\\|", "*": "\\*"})


def escape(text: str) -> str:
    """``text`` with Markdown's table and emphasis characters escaped."""
    return str(text).translate(_ESCAPED)


def markdown_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, numeric_from: int | None = None
) -> list[str]:
    """A GitHub-flavoured Markdown table as lines; columns from ``numeric_from`` on are
    right-aligned (``None``: all left-aligned)."""
    width = len(headers)
    bad = [i for i, row in enumerate(rows) if len(row) != width]
    if bad:
        raise ValueError(f"rows {bad} do not have the {width} cells of the header")
    first = width if numeric_from is None else numeric_from
    align = ["---" if i < first else "---:" for i in range(width)]
    lines = ["| " + " | ".join(escape(h) for h in headers) + " |"]
    lines.append("| " + " | ".join(align) + " |")
    lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in rows]
    return lines


def markdown_section(
    heading: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    notes: Sequence[str] = (),
    *,
    level: int = 2,
    numeric_from: int | None = None,
) -> list[str]:
    """A heading, its table and the notes below it as lines, each block followed by a blank
    line: how every table of the project reads, escaped alike."""
    lines = [f"{'#' * level} {escape(heading)}", ""]
    lines += markdown_table(headers, rows, numeric_from=numeric_from)
    lines.append("")
    for note in notes:
        lines += [escape(note), ""]
    return lines

"""Altair pieces the app's charts share so that each fits a phone-wide column (~340 px) as well as
a desktop one: a legend under the chart in one column, with long names wrapped onto lines.

A chart is drawn as wide as its column (`st.altair_chart(..., width="stretch")`); a legend on the
right or in several columns does not shrink with it and is cut off, and with "stretch" the
legend's height comes out of the chart's, so the chart is made taller by what its legend needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import altair as alt

WRAP_CHARS = 40  # ~240 px of 11 px legend text: fits beside its symbol in a phone-wide chart
LABEL_PX = 260  # a single word longer than a line is cut here with "…"
LINE_PX = 14
ENTRY_GAP_PX = 6
_BREAKS = re.compile(r"(?<=[ ,+/])")  # a line may end after a space, a comma, a "+" or a "/"


def wrapped(label: str, width: int = WRAP_CHARS) -> str:
    """`label` on lines of at most `width` characters (a longer word keeps a line of its own),
    joined with newlines: `legend_below` draws each on its own line."""
    lines: list[str] = []
    line = ""
    for token in _BREAKS.split(label):
        if line and len(line) + len(token.rstrip()) > width:
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line += token
    if line.strip():
        lines.append(line.rstrip())
    return "\n".join(lines)


def legend_below(title: str | None = None) -> alt.Legend:
    """A legend under the chart, one entry per row, each label split on its newlines."""
    return alt.Legend(orient="bottom", direction="vertical", columns=1, title=title,
                      labelLimit=LABEL_PX, labelExpr="split(datum.label, '\\n')")


def legend_height(labels: Iterable[str], title: bool = False) -> int:
    """Pixels a `legend_below` of these (wrapped) labels takes, to add to the chart's height."""
    rows = sum(label.count("\n") * LINE_PX + max(LINE_PX, 16) + ENTRY_GAP_PX for label in labels)
    return rows + (LINE_PX + ENTRY_GAP_PX if title else 0) + 24

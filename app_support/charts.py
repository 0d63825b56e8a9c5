"""The app's charts as Vega-Lite specs (dicts for `st.vega_lite_chart`), each fitting a
phone-wide column (~340 px) as well as a desktop one.

Written as plain specs, not with Altair: importing Altair (and the jsonschema it validates every
chart with) took 0.35-0.75 s of the Evaluation and Cluster explorer pages' first render, the
most of anything on them; Streamlit draws a dict spec without it. Data frames go in a spec's
`datasets` (Streamlit sends them as Arrow) and are named by `data`.

A chart is drawn as wide as its column (`width="stretch"`); a legend on the right or in several
columns does not shrink with it and is cut off, so legends go under the chart in one column,
with long names wrapped onto lines, and with "stretch" the legend's height comes out of the
chart's, so the chart is made taller by what its legend needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import pandas as pd

Spec = dict[str, object]
WRAP_CHARS = 40  # ~240 px of 11 px legend text: fits beside its symbol in a phone-wide chart
LABEL_PX = 260  # a single word longer than a line is cut here with "…"
LINE_PX = 14
ENTRY_GAP_PX = 6
_BREAKS = re.compile(r"(?<=[ ,+/])")  # a line may end after a space, a comma, a "+" or a "/"
KS = (1, 5, 10)  # the Evaluation page's recall cut-offs
PALETTE = ["#9ca3af", "#4f46e5", "#f59e0b", "#10b981", "#ef4444", "#06b6d4", "#8b5cf6"]
BARS_PX = 260  # the recall bars' own height; the legend under them adds its own


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


def legend_below(title: str | None = None) -> Spec:
    """A legend under the chart, one entry per row, each label split on its newlines."""
    return {"orient": "bottom", "direction": "vertical", "columns": 1, "title": title,
            "labelLimit": LABEL_PX, "labelExpr": "split(datum.label, '\\n')"}


def legend_height(labels: Iterable[str], title: bool = False) -> int:
    """Pixels a `legend_below` of these (wrapped) labels takes, to add to the chart's height."""
    rows = sum(label.count("\n") * LINE_PX + max(LINE_PX, 16) + ENTRY_GAP_PX for label in labels)
    return rows + (LINE_PX + ENTRY_GAP_PX if title else 0) + 24


def field(name: str, kind: str = "quantitative", **more: object) -> Spec:
    """One encoding channel: a field, its type and any other properties."""
    return {"field": name, "type": kind, **more}


def rule_at(name: str, value: float, **mark: object) -> Spec:
    """A layer: a vertical rule at x = value (the chosen k, the best epoch)."""
    return {"data": {"values": [{name: value}]}, "mark": {"type": "rule", **mark},
            "encoding": {"x": field(name)}}


def scatter(points: pd.DataFrame, axes: tuple[str, str], order: Sequence[str]) -> Spec:
    """The explorer's map: points coloured by cluster; the tooltip shows the thumbnail (a field
    named `image` is drawn as a picture). Click (shift-click for more) or drag a box: the
    selections `picked` and `region`."""
    bare = {"labels": False, "ticks": False, "grid": False}
    return {
        "datasets": {"points": points}, "data": {"name": "points"},
        "mark": {"type": "circle", "size": 110, "stroke": "white", "strokeWidth": 0.6},
        "params": [{"name": "picked", "select": {"type": "point", "fields": ["id"], "on": "click"}},
                   {"name": "region", "select": {"type": "interval", "encodings": ["x", "y"]}}],
        "encoding": {
            "x": field("x", title=axes[0], scale={"zero": False, "padding": 12}, axis=bare),
            "y": field("y", title=axes[1], scale={"zero": False, "padding": 12}, axis=bare),
            "color": field("cluster", "nominal", title="Cluster", sort=list(order),
                           scale={"scheme": "tableau10" if len(order) <= 10 else "tableau20"},
                           legend=legend_below("Cluster")),
            "opacity": {"condition": [{"test": {"and": [{"param": "picked"},
                                                         {"param": "region"}]}, "value": 0.9}],
                        "value": 0.2},
            "tooltip": [field("image", "nominal"), field("name", "nominal", title="file"),
                        field("cluster", "nominal"), field("texts", "nominal")]},
        "height": 560 + legend_height(order, title=True)}


def sweep(table: pd.DataFrame, k: int) -> list[Spec]:
    """Inertia and silhouette over k with the chosen k marked, one chart each (side by side when
    wide, stacked on a phone)."""
    parts = []
    for name, title in (("inertia", "Inertia (lower = tighter; look for the elbow)"),
                        ("silhouette", "Silhouette (higher = better separated)")):
        line = {"data": {"name": "sweep"}, "mark": {"type": "line", "point": True}, "encoding": {
            "x": field("k", axis={"tickMinStep": 1}),
            "y": field(name, title=None, scale={"zero": False}),
            "tooltip": [field("k"), field(name, format=".3f")]}}
        parts.append({"datasets": {"sweep": table[["k", name]]}, "title": title, "height": 240,
                      "layer": [line, rule_at("k", k, color="#e4572e", strokeDash=[4, 4])]})
    return parts


def variance(table: pd.DataFrame) -> Spec:
    """The PCA spectrum: explained variance per component as bars, the cumulative as a line."""
    x = field("component", "nominal", sort=list(table["component"]), title=None,
              axis={"labelAngle": 0})
    bars = {"mark": {"type": "bar", "color": "#4c78a8"}, "encoding": {
        "x": x, "y": field("explained", title="variance explained (%)"),
        "tooltip": [field("component", "nominal"), field("explained", format=".1f"),
                    field("cumulative", format=".1f")]}}
    line = {"mark": {"type": "line", "point": True, "color": "#e4572e"},
            "encoding": {"x": x, "y": field("cumulative")}}
    return {"datasets": {"pca": table}, "data": {"name": "pca"}, "layer": [bars, line],
            "height": 260, "title": {"text": "PCA spectrum: bars per component, line cumulative",
                                     "fontSize": 12}}


def recall_bars(table: pd.DataFrame) -> Spec:
    """Grouped bars of R@1/5/10 per model (`table`: model, label, metric, value, lo, hi), the
    R@k interval as a rule, the legend in report order."""
    models = list(dict.fromkeys(table["label"]))
    encoding = {"x": field("metric", "nominal", title=None, sort=[f"R@{k}" for k in KS],
                           axis={"labelAngle": 0}),
                "xOffset": field("label", "nominal", sort=models),
                "color": field("label", "nominal", sort=models, legend=legend_below(),
                               scale={"domain": models, "range": PALETTE[:len(models)]})}
    bar = {"mark": {"type": "bar"}, "encoding": {
        **encoding, "y": field("value", title="recall (%)", scale={"domain": [0, 100]}),
        "tooltip": [field("model", "nominal"), field("metric", "nominal"), field("value"),
                    field("lo"), field("hi")]}}
    rule = {"mark": {"type": "rule", "color": "#333333"},
            "encoding": {**encoding, "y": field("lo"), "y2": {"field": "hi"}}}
    return {"datasets": {"recall": table}, "data": {"name": "recall"}, "layer": [bar, rule],
            "height": BARS_PX + legend_height(models)}


def training_curves(history: Sequence[dict], best: int | None) -> list[Spec]:
    """The training loss and the validation R@sum as two charts, the best epoch marked."""
    parts = []
    for series, key in (("training loss", "train_loss"), ("validation R@sum", "val_rsum")):
        rows = pd.DataFrame({"epoch": [h["epoch"] for h in history],
                             "value": [h[key] for h in history], "series": series})
        line = {"data": {"name": "curve"}, "mark": {"type": "line", "point": True},
                "encoding": {"x": field("epoch", axis={"tickMinStep": 1}),
                             "y": field("value", title=None, scale={"zero": False}),
                             "color": field("series", "nominal", legend=None),
                             "tooltip": [field("epoch"), field("series", "nominal"),
                                         field("value")]}}
        layers = [line] + ([rule_at("epoch", best, strokeDash=[4, 4], color="#888888")]
                           if best else [])
        parts.append({"datasets": {"curve": rows}, "title": series, "height": 220,
                      "layer": layers})
    return parts

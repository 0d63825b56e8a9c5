"""The review as one self-contained HTML file (for stakeholders: it opens without the app) and
a Markdown summary (for a pull request or a chat).

Thumbnails are inlined as small JPEG data URLs, each image once (a CSS class per image, used
by every tile that shows it), so 30 queries x 3 variants stay well under a megabyte. The page
also carries its figures and marks as JSON, so a report can be checked or turned back into a
marks file without the indexes.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime

from core.eval.review import Review, Summary
from core.eval.review_marks import FORMAT as MARKS_FORMAT
from core.eval.review_marks import MarkKey
from core.index.store import Index
from core.index.thumbs import image_tile, tile_jpeg

THUMB_PX = 64
THUMB_QUALITY = 70
BADGE = {True: ("rel", "✓", "relevant"), False: ("irr", "✗", "not relevant"),
         None: ("unm", "·", "unmarked")}
STYLE = """body{font:14px system-ui,sans-serif;margin:24px;color:#1f2328}
table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #d0d7de;padding:3px 8px;
text-align:right}th:first-child,td:first-child{text-align:left}.warn{color:#9a6700}
section{border-top:1px solid #d0d7de;padding:6px 0}.row{display:flex;align-items:center;gap:4px;
margin:3px 0}.name{width:170px;font-size:12px}.t{position:relative;width:64px;height:64px;
background-size:cover;border:3px solid #d0d7de;border-radius:3px}.t.rel{border-color:#1a7f37}
.t.irr{border-color:#cf222e}.t b{position:absolute;right:1px;bottom:0;font-size:12px;
background:#fff;border-radius:2px;padding:0 2px}.q{width:64px;height:64px;background-size:cover}
.small{font-size:12px;color:#59636e}"""


def _fmt(value: float, digits: int = 3) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _num(value: float) -> float | None:
    """JSON has no NaN: a pair without shared queries has no difference (null)."""
    return None if math.isnan(value) else value


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def metric_names(k: int) -> list[str]:
    """The figure columns in table order (success@n only where n <= k)."""
    return [f"success@{n}" for n in (1, 5, 10) if n <= k] + ["P@k", "nDCG@k"]


def label(name: str, k: int) -> str:
    return name.replace("@k", f"@{k}")


def thumbnails(review: Review, indexes: Mapping[str, Index], size: int = THUMB_PX
               ) -> dict[str, bytes]:
    """hash -> small JPEG tile, from the first index that holds the image (results and image
    queries); the same image in two indexes has the same content, so one tile serves both."""
    where: dict[str, tuple[Index, int]] = {}
    for per_variant in review.results.values():
        for v, shown in per_variant.items():
            for r in shown:
                where.setdefault(r.hash, (indexes[v], r.id))
    for q in review.queries:
        if q.image_hash and q.image_hash not in where:
            for ix in indexes.values():
                found = ix.items.index[ix.items["hash"] == q.image_hash]
                if len(found):
                    where[q.image_hash] = (ix, int(found[0]))
                    break
    tiles = {h: tile_jpeg(ix.thumb_path(i), size, quality=THUMB_QUALITY)
             for h, (ix, i) in where.items()}
    for q in review.queries:  # an image file not in any index: its own decoded picture
        if q.upload is not None and q.image_hash not in tiles:
            tiles[str(q.image_hash)] = image_tile(q.upload.image, size, quality=THUMB_QUALITY)
    return tiles


def report_data(review: Review, summary: Summary, marks: Mapping[MarkKey, bool]) -> dict:
    """The figures and marks as plain JSON (embedded in the HTML; the CLI test reads it)."""
    keys = {q.key for q in review.queries}
    return {
        "k": review.k, "variants": review.variants,
        "queries": [{"key": q.key, "label": q.label} for q in review.queries],
        "metrics": {r.variant: {**r.metrics, "queries": r.queries, "unmarked": r.unmarked,
                                "shown": r.shown} for r in summary.rows},
        "pairs": [{"a": p.a, "b": p.b, "queries": p.queries, "wins": p.wins,
                   "losses": p.losses, "ties": p.ties, "difference": _num(p.difference),
                   "ci": [_num(c) for c in p.ci], "shared": _num(p.shared),
                   "jaccard": _num(p.jaccard)} for p in summary.pairs],
        "per_query": summary.scores,
        "marks": {"format": MARKS_FORMAT, "version": 1,
                  "marks": [{"query": q, "hash": h, "relevant": v}
                            for (q, h), v in sorted(marks.items()) if q in keys]},
    }


def _metrics_table(review: Review, summary: Summary, specs: Mapping[str, str]) -> str:
    names = metric_names(review.k)
    head = "".join(f"<th>{_e(label(n, review.k))}</th>" for n in names)
    rows = []
    for r in summary.rows:
        cells = "".join(f'<td data-metric="{_e(n)}">{_fmt(r.metrics.get(n, math.nan))}</td>'
                        for n in names)
        rows.append(f'<tr data-variant="{_e(r.variant)}"><td>{_e(r.variant)}<br><span '
                    f'class="small">{_e(specs.get(r.variant, ""))}</span></td>'
                    f"<td>{r.queries}</td>{cells}<td>{r.unmarked} of {r.shown}</td></tr>")
    return (f"<table><tr><th>variant</th><th>queries</th>{head}<th>unmarked</th></tr>"
            + "".join(rows) + "</table>")


def _pairs_table(review: Review, summary: Summary) -> str:
    rows = [f'<tr data-pair="{_e(p.a)}|{_e(p.b)}"><td>{_e(p.a)} vs {_e(p.b)}</td>'
            f"<td>{p.queries}</td><td>{p.wins} / {p.losses} / {p.ties}</td>"
            f"<td>{_fmt(p.difference)}</td><td>[{_fmt(p.ci[0])}, {_fmt(p.ci[1])}]</td>"
            f"<td>{_fmt(p.shared, 1)}</td><td>{_fmt(p.jaccard, 2)}</td></tr>"
            for p in summary.pairs]
    return ("<table><tr><th>pair</th><th>queries</th><th>wins / losses / ties</th>"
            f"<th>nDCG@{review.k} a − b</th><th>paired bootstrap 95%</th>"
            f"<th>shared of top {review.k}</th><th>Jaccard</th></tr>" + "".join(rows)
            + "</table>")


def _query_section(no: int, review: Review, summary: Summary,
                   marks: Mapping[MarkKey, bool], css: Mapping[str, str]) -> str:
    q = review.queries[no]
    head = f"<h3>{no + 1}. {_e(q.label)}</h3>"
    if q.image_hash in css:
        head = f'<div class="row"><div class="q {css[q.image_hash]}"></div>{head}</div>'
    lines = [f'<section id="q{no + 1}" data-query="{_e(q.key)}">{head}']
    for v in review.variants:
        shown = review.shown(q.key, v)
        if shown is None:
            reason = review.problems.get(q.key, {}).get(v, "no results")
            lines.append(f'<div class="row" data-variant="{_e(v)}"><div class="name">'
                         f'{_e(v)}</div><span class="small">{_e(reason)}</span></div>')
            continue
        ndcg = summary.scores[v][q.key]["nDCG@k"]
        tiles = []
        for rank, r in enumerate(shown, 1):
            cls, mark, word = BADGE[marks.get((q.key, r.hash))]
            title = f"#{rank} · {r.score:.3f} · {word}"
            tiles.append(f'<div class="t {cls} {css.get(r.hash, "")}" role="img" '
                         f'title="{_e(title)}" aria-label="{_e(title)}"><b>{mark}</b></div>')
        lines.append(f'<div class="row" data-variant="{_e(v)}"><div class="name">{_e(v)}<br>'
                     f'<span class="small">nDCG@{review.k} {_fmt(ndcg)}</span></div>'
                     + "".join(tiles) + "</div>")
    return "\n".join(lines) + "</section>"


def html_report(review: Review, summary: Summary, marks: Mapping[MarkKey, bool],
                thumbs: Mapping[str, bytes], specs: Mapping[str, str] | None = None,
                title: str = "Model-variant review") -> str:
    """The whole report as one HTML string (no external file, font or script)."""
    specs = specs or {}
    css = {h: f"i{n}" for n, h in enumerate(thumbs)}
    images = "\n".join(f".{css[h]}{{background-image:url(data:image/jpeg;base64,"
                       f"{base64.b64encode(data).decode('ascii')})}}"
                       for h, data in thumbs.items())
    unmarked = sum(r.unmarked for r in summary.rows)
    shown = sum(r.shown for r in summary.rows)
    warn = (f'<p class="warn">{unmarked} of {shown} results are still unmarked (counted as not '
            "relevant): the figures are not final.</p>" if unmarked else
            "<p>Every result shown is marked.</p>")
    data = json.dumps(report_data(review, summary, marks), ensure_ascii=False).replace(
        "</", "<\\/")  # no "</script>" inside the script element
    sections = "\n".join(_query_section(i, review, summary, marks, css)
                         for i in range(len(review.queries)))
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>
<style>{STYLE}
{images}</style></head><body>
<h1>{_e(title)}</h1>
<p>{len(review.queries)} queries × {len(review.variants)} variants, top {review.k}; \
{summary.marks_used} marks. Created {stamp}. Images are matched across indexes by content \
hash; a mark counts for every variant that shows the image.</p>
{warn}
<h2>Metrics per variant</h2>
{_metrics_table(review, summary, specs)}
<p class="small">success@n: a relevant image in the first n; P@{review.k}: relevant / shown; \
nDCG@{review.k}: ideal = the query's images marked relevant in any variant.</p>
<h2>Pairs</h2>
{_pairs_table(review, summary)}
<h2>Queries</h2>
<p class="small">Green ✓ relevant, red ✗ not relevant, grey · unmarked.</p>
{sections}
<script type="application/json" id="review-data">{data}</script>
</body></html>
"""


def metric_records(review: Review, summary: Summary, specs: Mapping[str, str] | None = None
                   ) -> list[dict[str, object]]:
    """One row per variant with labelled columns: the page's table and the Markdown's."""
    specs, k = specs or {}, review.k
    return [{"variant": r.variant, "model": specs.get(r.variant, ""), "queries": r.queries,
             **{label(n, k): r.metrics.get(n, math.nan) for n in metric_names(k)},
             "unmarked": r.unmarked, "shown": r.shown} for r in summary.rows]


def pair_records(review: Review, summary: Summary) -> list[dict[str, object]]:
    """One row per pair of variants: wins on nDCG@k, the paired interval, the overlap."""
    k = review.k
    return [{"pair": f"{p.a} vs {p.b}", "queries": p.queries, "wins": p.wins,
             "losses": p.losses, "ties": p.ties, f"nDCG@{k} a − b": p.difference,
             "95% CI": f"[{_fmt(p.ci[0])}, {_fmt(p.ci[1])}]", f"shared of {k}": p.shared,
             "Jaccard": p.jaccard} for p in summary.pairs]


def _md_table(records: list[dict[str, object]]) -> list[str]:
    if not records:
        return []
    head = list(records[0])
    cells = [[_fmt(v) if isinstance(v, float) else str(v) for v in r.values()] for r in records]
    return ["| " + " | ".join(head) + " |", "|---" * len(head) + "|",
            *("| " + " | ".join(row) + " |" for row in cells)]


def markdown_summary(review: Review, summary: Summary, specs: Mapping[str, str] | None = None
                     ) -> str:
    """The metrics and pairs tables, and one line per query with each variant's nDCG@k."""
    k = review.k
    lines = [f"# Model-variant review: {len(review.queries)} queries × "
             f"{len(review.variants)} variants, top {k}", "",
             f"{summary.marks_used} marks; unmarked results count as not relevant.", "",
             *_md_table(metric_records(review, summary, specs)), "",
             *_md_table(pair_records(review, summary)), "", f"nDCG@{k} per query:", ""]
    for q in review.queries:
        figures = [f"{v} {_fmt(summary.scores[v][q.key]['nDCG@k'])}"
                   for v in review.variants if q.key in summary.scores[v]]
        lines.append(f"- {q.label}: " + (", ".join(figures) or "no results"))
    return "\n".join(lines) + "\n"

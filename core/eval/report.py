"""Evaluation reports: a plain table for the terminal, a README-ready markdown table, CSV, JSON.

All of them are drawn from one report dict (what `python -m core evaluate --json` saves and the
app's evaluation page reads), so they never disagree.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from core.eval.evaluate import KS, MAP_K, NOTE

DIRECTIONS = (("t2i", "t2i"), ("i2t", "i2t"))


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}"


def _cells(row: dict, d: str, with_ci: bool = True) -> list[str]:
    m = row.get(d)
    if row["status"] != "ok" or m is None:
        return ["n/a"] * (len(KS) + 2)
    cells = [_pct(m[f"R@{k}"]) for k in KS]
    ci = m.get("ci", {}).get(f"R@{KS[-1]}")
    if with_ci and ci:
        cells[-1] += f" [{_pct(ci[0])}, {_pct(ci[1])}]"
    cells += [f"{m['median_rank']:g}", _pct(m[f"mAP@{MAP_K}"])]
    return cells


def _header() -> list[str]:
    cols = ["model"]
    for _, name in DIRECTIONS:
        cols += [f"{name} R@{k}" for k in KS[:-1]]
        cols += [f"{name} R@{KS[-1]} [95% CI]", f"{name} medR", f"{name} mAP@{MAP_K}"]
    return cols + ["Annoy R@10"]


def _rows(s: dict) -> list[list[str]]:
    out = []
    for row in s["rows"]:
        annoy = row.get("annoy_recall@10")
        out.append([row["model"], *_cells(row, "t2i"), *_cells(row, "i2t"),
                    "n/a" if annoy is None else f"{annoy:.2f}"])
    return out


def _set_title(s: dict) -> str:
    folds = f", mean of {s['folds']} folds" if s.get("folds") else ""
    return (f"{s['name']} — {s['split']} split: {s['n_images']} images, "
            f"{s['n_text_queries']} {s.get('query_kind', 'distinct captions')}{folds}")


def _notes(s: dict) -> list[str]:
    notes = [s["note"]] if s.get("note") else []
    for row in s["rows"]:
        if row.get("reason"):
            notes.append(f"{row['model']}: {row['reason']}")
    labels = {r["spec"]: r["model"] for r in s["rows"]}
    for c in s.get("comparisons", []):
        lo, hi = c["ci"]
        a, b = labels.get(c["a"], c["a"]), labels.get(c["b"], c["b"])
        notes.append(f"{c['metric']}, {a} minus {b}: "
                     f"{100 * c['difference']:+.1f} points [{100 * lo:+.1f}, {100 * hi:+.1f}] "
                     f"({c['ci_kind']})")
    kind = next((r["t2i"].get("ci_kind") for r in s["rows"] if r.get("t2i")
                 and r["t2i"].get("ci_kind")), None)
    if kind:
        notes.append(f"[..] = R@{KS[-1]} interval ({kind}); random = exact expectation.")
    return notes


def to_text(report: dict) -> str:
    """Aligned plain-text tables, one per set, for the terminal."""
    lines = [NOTE, ""]
    for s in report["sets"]:
        table = [_header(), *_rows(s)]
        widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
        lines.append(_set_title(s))
        for r in table:
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        lines += [f"  note: {n}" for n in _notes(s)] + [""]
    lines.append("t2i = text→image, i2t = image→text; R@k and mAP in percent.")
    return "\n".join(lines)


def to_markdown(report: dict) -> str:
    """README-ready: one table per set, R@k in percent, notes and the non-comparability note."""
    lines = ["## Retrieval evaluation", "", f"> {NOTE}", ""]
    for s in report["sets"]:
        lines += [f"### {_set_title(s)}", ""]
        header = _header()
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|")
        lines += ["| " + " | ".join(r) + " |" for r in _rows(s)]
        lines += [""] + [f"- {n}" for n in _notes(s)] + [""]
    lines.append(f"t2i = text→image, i2t = image→text; R@k and mAP@{MAP_K} in percent; "
                 "medR = median rank of the first correct item; Annoy R@10 = recall of "
                 "Annoy (core's default settings) against exact search.")
    return "\n".join(lines) + "\n"


CSV_FIELDS = ["set", "model", "spec", "status", "reason", "n_images", "n_text_queries"]


def to_csv(report: dict) -> str:
    """One line per set and model; metrics as fractions (0..1), intervals as _lo/_hi columns."""
    metric_cols = []
    for d, _ in DIRECTIONS:
        for k in KS:
            metric_cols += [f"{d}_R@{k}", f"{d}_R@{k}_lo", f"{d}_R@{k}_hi"]
        metric_cols += [f"{d}_median_rank", f"{d}_mean_rank", f"{d}_mAP@{MAP_K}"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, CSV_FIELDS + metric_cols + ["annoy_recall@10"])
    writer.writeheader()
    for s in report["sets"]:
        for row in s["rows"]:
            line = {"set": s["name"], "model": row["model"], "spec": row["spec"],
                    "status": row["status"], "reason": row.get("reason") or "",
                    "n_images": s["n_images"], "n_text_queries": s["n_text_queries"],
                    "annoy_recall@10": row.get("annoy_recall@10")}
            for d, _ in DIRECTIONS:
                m = row.get(d) or {}
                for k in KS:
                    ci = m.get("ci", {}).get(f"R@{k}", [None, None])
                    line.update({f"{d}_R@{k}": m.get(f"R@{k}"), f"{d}_R@{k}_lo": ci[0],
                                 f"{d}_R@{k}_hi": ci[1]})
                for key in ("median_rank", "mean_rank", f"mAP@{MAP_K}"):
                    line[f"{d}_{key}"] = m.get(key)
            writer.writerow(line)
    return buf.getvalue()


def write_outputs(report: dict, json_path: str | None = None, csv_path: str | None = None,
                  markdown_path: str | None = None) -> list[Path]:
    written = []
    for path, text in ((json_path, lambda: json.dumps(report, indent=2, ensure_ascii=False)),
                       (csv_path, lambda: to_csv(report)),
                       (markdown_path, lambda: to_markdown(report))):
        if path:
            p = Path(path)
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text(), encoding="utf-8")
            written.append(p)
    return written


def load_report(path: str | Path) -> dict:
    """A saved report for the app; a clear error when it is missing or not one."""
    from core.errors import UserError

    path = Path(path)
    if not path.is_file():
        raise UserError(f"no evaluation report at {path}: run python -m core evaluate --sets "
                        f"data/sets/* --json {path}")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"{path}: unreadable evaluation report ({e})") from e
    if not isinstance(report, dict) or not isinstance(report.get("sets"), list):
        raise UserError(f"{path}: not an evaluation report (no 'sets' list)")
    return report

"""Evaluation: the saved retrieval report (`python -m core evaluate --json ...`) as tables and
charts, plus the two-branch training curves. Nothing is computed on page load."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import streamlit as st

from app_support import charts, loaders
from app_support.bootstrap import leave_legacy_multipage
from core.errors import UserError
from core.eval.report import load_report

leave_legacy_multipage()

ENV_REPORT = "IMAGE_SEARCH_REPORT"
DEFAULT_REPORT = "reports/evaluation.json"
COMMAND = ("python -m core evaluate --sets data/sets/* --photos --models conse:lite0 "
           "twobranch:models/twobranch --json reports/evaluation.json "
           "--markdown reports/evaluation.md")
DIRECTIONS = {"t2i": "Text → image", "i2t": "Image → text"}
KS = charts.KS
# The model column stays in view (pinned, narrow) while the metrics scroll beside it, so a
# phone shows the model and its numbers together; the note wraps in a wider column.
TABLE_COLUMNS = {"model": st.column_config.TextColumn("model", width=150, pinned=True),
                 "note": st.column_config.TextColumn("note", width="large")}


def report_path() -> Path:
    value = os.environ.get(ENV_REPORT, "").strip()
    return Path(value).expanduser() if value else loaders.REPO_ROOT / DEFAULT_REPORT


@st.cache_data(ttl=30, show_spinner=False)
def _report(path: str, stamp: float) -> dict:
    return load_report(path)


def pct(v: float | None) -> float | None:
    return None if v is None else round(100 * v, 1)


def cell(v: float | None, digits: int = 1) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def table(rows: list[dict]) -> pd.DataFrame:
    """One line per model: both directions, R@10 interval, Annoy recall, why a row is n/a."""
    out = []
    for r in rows:
        line: dict = {"model": r["model"]}
        for d, name in (("t2i", "t2i"), ("i2t", "i2t")):
            m = r.get(d) if r["status"] == "ok" else None
            for k in KS:
                line[f"{name} R@{k}"] = cell(pct(m[f"R@{k}"]) if m else None)
            ci = (m or {}).get("ci", {}).get("R@10")
            line[f"{name} R@10 95% CI"] = f"{pct(ci[0])}–{pct(ci[1])}" if ci else "—"
            line[f"{name} medR"] = cell(m["median_rank"] if m else None, 0)
            line[f"{name} mAP@10"] = cell(pct(m["mAP@10"]) if m else None)
        line["Annoy R@10"] = cell(r.get("annoy_recall@10"), 2)
        line["note"] = r.get("reason") or ""
        out.append(line)
    return pd.DataFrame(out)


def bars(rows: list[dict], direction: str) -> dict | None:
    """Grouped bars of R@1/5/10 per model, with the R@k interval as a rule."""
    data = []
    for r in rows:
        m = r.get(direction)
        if r["status"] != "ok" or not m:
            continue
        for k in KS:
            lo, hi = m.get("ci", {}).get(f"R@{k}", [None, None])
            data.append({"model": r["model"], "metric": f"R@{k}", "value": pct(m[f"R@{k}"]),
                         "lo": pct(lo), "hi": pct(hi)})
    if not data:
        return None
    df = pd.DataFrame(data)
    df["label"] = df["model"].map(charts.wrapped)  # the legend's lines; the tooltip has it whole
    return charts.recall_bars(df)


st.title("Evaluation")
st.caption("Retrieval quality of each model variant on the held-out test splits of the "
           "captioned sets, from the saved report.")
path = report_path()
try:
    report = _report(str(path), path.stat().st_mtime if path.is_file() else 0.0)
except UserError as e:
    st.info(f"{e}", icon=":material/analytics:")
    st.markdown("Create the report from the project folder (it takes a few minutes):")
    st.code(COMMAND, language="bash")
    st.stop()

st.warning(report.get("note", ""), icon=":material/info:")
st.caption(f"Report of {str(report.get('created', '?'))[:19]} · models: "
           f"{', '.join(f'`{m}`' for m in report.get('models', []))} · R@k = share of queries "
           "whose first correct item is in the top k; the interval is a bootstrap 95% interval "
           "over queries. Annoy R@10 = Annoy's recall against exact search with the app's "
           "default settings.")

sets = report["sets"]
if not sets:
    st.info("The report holds no test set.")
    st.stop()
# only the open set's tab is drawn (a tab switch reruns): four tables and charts were built on
# the first render for one on screen
tabs = st.tabs([s["name"] for s in sets], key="ev.set", on_change="rerun")
for tab, s in zip(tabs, sets, strict=True):
    if not tab.open:
        continue
    with tab:
        folds = f" · mean of {s['folds']} folds" if s.get("folds") else ""
        st.markdown(f"**{s['split']} split** · {s['n_images']} images · "
                    f"{s['n_text_queries']} distinct captions as text queries{folds}")
        if s.get("note"):
            st.caption(s["note"])
        st.dataframe(table(s["rows"]), hide_index=True, width="stretch",
                     column_config=TABLE_COLUMNS)
        notes = [f"**{r['model']}**: {r['reason']}" for r in s["rows"] if r.get("reason")]
        labels = {r["spec"]: r["model"] for r in s["rows"]}
        notes += [f"**{c['metric']}, {labels.get(c['a'], c['a'])} minus "
                  f"{labels.get(c['b'], c['b'])}**: {100 * c['difference']:+.1f} points "
                  f"[{100 * c['ci'][0]:+.1f}, {100 * c['ci'][1]:+.1f}] ({c['ci_kind']})"
                  for c in s.get("comparisons", [])]
        if notes:
            st.caption("  \n".join(notes))
        direction = st.segmented_control("Direction", list(DIRECTIONS), key=f"ev.dir.{s['name']}",
                                         default="t2i", format_func=DIRECTIONS.get) or "t2i"
        chart = bars(s["rows"], direction)
        if chart is not None:
            st.vega_lite_chart(chart, width="stretch")

training = report.get("training") or {}
if training:
    st.subheader("Two-branch training")
    for spec, info in training.items():
        history = info.get("history") or []
        if not history:
            continue
        st.markdown(f"`{spec}` · best epoch **{info.get('best_epoch')}** of {len(history)} · "
                    f"validation R@sum {info.get('best_val_rsum', 0):.1f} · "
                    f"{info.get('train_seconds', 0):.0f} s of training")
        for col, chart in zip(st.columns(2),
                              charts.training_curves(history, info.get("best_epoch")),
                              strict=True):
            col.vega_lite_chart(chart, width="stretch")
        with st.expander("Hyper-parameters and training sets"):
            st.json({"hyperparameters": info.get("hyperparameters"), "sets": info.get("sets")},
                    expanded=False)

"""The widgets around a result grid: filters, a similarity cut-off and downloads.

Filters are offered only where they can cut something: a folder or source choice with more
than one value, a date range where some image has an EXIF date, size bounds, orientations and
has-text. The logic is core.query.filters and core.query.export; this module is the layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import streamlit as st

from app_support import grid, loaders
from app_support.params import parse_float, parse_int, pick_name
from core.index.catalogue import IndexEntry
from core.index.items import named
from core.index.store import Index
from core.query.calibration import strong_count
from core.query.duplicates import DEFAULT_NEAR, NEAR_SOURCES, near_of
from core.query.export import images_zip, result_rows, to_csv, to_json
from core.query.filters import ORIENTATIONS, Filters, folder_choices, reads_words, stores_dates

NEAR_KEY = "near.threshold"  # the near-duplicate cosine threshold, set on Home
NEAR_SOURCE_KEY = "near.source"  # what is compared: thumbnails' pixels or the embeddings
NEAR_LABELS = {"pixels": "Pixels (thumbnails)", "embeddings": "The model's embeddings"}
TEXT_CHOICES = {"Any": None, "With text": True, "Without text": False}
WORD_CHOICES = {"Any": None, "Shows words": True, "No words": False}


def filters_active(prefix: str) -> bool:
    """Whether the session holds any filter for this page (to open the expander)."""
    s = st.session_state
    return bool(s.get(f"{prefix}.f.folders") or s.get(f"{prefix}.f.sources")
                or s.get(f"{prefix}.f.orient") or s.get(f"{prefix}.f.min_w")
                or s.get(f"{prefix}.f.min_h") or s.get(f"{prefix}.f.text", "Any") != "Any"
                or s.get(f"{prefix}.f.ocr", "Any") != "Any" or s.get(f"{prefix}.f.dates")
                or s.get(f"{prefix}.f.cut") or s.get(f"{prefix}.f.cut_cos"))


def _facts(entry: IndexEntry, prefix: str):
    """The index's facts; an index built without dates reads them only once asked to."""
    index = loaders.get_index(entry)
    return loaders.facts(entry, stores_dates(index)
                         or bool(st.session_state.get(f"{prefix}.f.read_dates")))


def _ask_for_dates(prefix: str) -> None:
    st.session_state[f"{prefix}.f.read_dates"] = True


def _fit_to(facts, prefix: str) -> None:
    """Drop remembered choices this index lacks (another index's folders or dates): a widget
    refuses a value outside its options or bounds."""
    s = st.session_state
    for name, known in (("folders", set(folder_choices(facts))), ("sources", set(facts["source"]))):
        s[f"{prefix}.f.{name}"] = [v for v in s[f"{prefix}.f.{name}"] if v in known]
    dated = facts["taken"].dropna()
    picked = s[f"{prefix}.f.dates"]
    if not len(dated):
        s[f"{prefix}.f.dates"] = ()
    elif picked:
        first, last = dated.min().date(), dated.max().date()
        s[f"{prefix}.f.dates"] = tuple(min(max(d, first), last) for d in picked)


def filter_controls(entry: IndexEntry, prefix: str) -> Filters:
    """The filter widgets (in the current container); returns what they ask for."""
    facts = _facts(entry, prefix)
    keep = {"persist_state": "session"}  # the choice holds across pages, like the query
    for name, value in FILTER_DEFAULTS.items():  # defaults here, not in the widgets: a link
        st.session_state.setdefault(f"{prefix}.f.{name}", value)  # sets them (state.py style)
    _fit_to(facts, prefix)
    c1, c2, c3 = st.columns(3)
    folders = c1.multiselect("Folder", folder_choices(facts), key=f"{prefix}.f.folders",
                             placeholder="any folder",
                             help="A folder includes everything below it.", **keep)
    sources = sorted(s for s in set(facts["source"]) if s)
    picked_sources = (c2.multiselect("Source", sources, key=f"{prefix}.f.sources",
                                     placeholder="any source", **keep)
                      if len(sources) > 1 else [])
    orient = c3.multiselect("Orientation", list(ORIENTATIONS), key=f"{prefix}.f.orient",
                            placeholder="any orientation", **keep)
    c4, c5, c6 = st.columns(3)
    min_w = c4.number_input("Min width (px)", 0, 100_000, step=100, key=f"{prefix}.f.min_w",
                            **keep)
    min_h = c5.number_input("Min height (px)", 0, 100_000, step=100, key=f"{prefix}.f.min_h",
                            **keep)
    text = c6.segmented_control("Description", list(TEXT_CHOICES), key=f"{prefix}.f.text",
                                **keep) or "Any"
    words = "Any"
    if reads_words(loaders.get_index(entry)):
        words = st.segmented_control("Words in the image (OCR)", list(WORD_CHOICES),
                                     key=f"{prefix}.f.ocr", **keep) or "Any"
    taken_from = taken_to = None
    dated = facts["taken"].dropna()
    if len(dated):
        first, last = dated.min().date(), dated.max().date()
        picked = st.date_input("Date taken (EXIF)", min_value=first, max_value=last,
                               key=f"{prefix}.f.dates",
                               help=f"{len(dated)} of {len(facts)} images carry an EXIF date; "
                               "a range drops the others.", **keep)
        if isinstance(picked, Sequence) and picked:
            taken_from = picked[0]
            taken_to = picked[1] if len(picked) > 1 else None
        elif isinstance(picked, date):
            taken_from = picked
    elif not stores_dates(loaders.get_index(entry)) and not st.session_state.get(
            f"{prefix}.f.read_dates"):
        st.button("Filter by date taken: read the photos' EXIF dates", key=f"{prefix}.f.ask",
                  icon=":material/event:", on_click=_ask_for_dates, args=(prefix,),
                  help="This index was built before dates were stored: they are read from the "
                       "files once (about a second per thousand photos).")
    else:
        st.caption("Date taken: no image in this index carries an EXIF date.")
    return Filters(folders=tuple(folders), sources=tuple(picked_sources), taken_from=taken_from,
                   taken_to=taken_to, min_width=int(min_w), min_height=int(min_h),
                   orientations=tuple(orient), has_text=TEXT_CHOICES[text],
                   has_ocr=WORD_CHOICES.get(words))


FILTER_DEFAULTS = {"folders": [], "sources": [], "orient": [], "min_w": 0, "min_h": 0,
                   "text": "Any", "ocr": "Any", "dates": (), "cut": 0, "cut_cos": 0.0}
URL_SEP = "|"
TEXT_URL = {True: "yes", False: "no"}


def _url_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except (AttributeError, ValueError):
        return None


def filters_from_url(url: dict[str, str], entry: IndexEntry, prefix: str) -> None:
    """A shared link's filters into the widgets' state; only known folders, sources and
    orientations and bounded numbers are taken (URL parameters are untrusted)."""
    s = st.session_state
    if url.get("from") or url.get("to"):
        s[f"{prefix}.f.read_dates"] = True
    facts = _facts(entry, prefix)

    def picks(name: str, known: list[str]) -> list[str]:
        return [v for v in (pick_name(x, known) for x in url.get(name, "").split(URL_SEP)) if v]

    s[f"{prefix}.f.folders"] = picks("folder", folder_choices(facts))
    s[f"{prefix}.f.sources"] = picks("source", sorted(set(facts["source"]) - {""}))
    s[f"{prefix}.f.orient"] = picks("orient", list(ORIENTATIONS))
    s[f"{prefix}.f.min_w"] = parse_int(url.get("minw"), 0, 0, 100_000)
    s[f"{prefix}.f.min_h"] = parse_int(url.get("minh"), 0, 0, 100_000)
    has = {v: k for k, v in TEXT_URL.items()}.get(url.get("text", ""))
    s[f"{prefix}.f.text"] = next(k for k, v in TEXT_CHOICES.items() if v == has)
    words = {v: k for k, v in TEXT_URL.items()}.get(url.get("words", ""))
    s[f"{prefix}.f.ocr"] = next(k for k, v in WORD_CHOICES.items() if v == words)
    s[f"{prefix}.f.dates"] = tuple(
        d for d in (_url_date(url.get("from", "")), _url_date(url.get("to", ""))) if d)
    s[f"{prefix}.f.cut"] = parse_int(url.get("minrel"), 0, 0, 100)
    s[f"{prefix}.f.cut_cos"] = parse_float(url.get("mincos"), 0.0, 0.0, 1.0)


def filter_params(filters: Filters, minimum: float, calibrated: bool) -> dict[str, object]:
    """The URL parameters that restore these filters and this cut-off (none when unset)."""
    return {"folder": URL_SEP.join(filters.folders), "source": URL_SEP.join(filters.sources),
            "orient": URL_SEP.join(filters.orientations), "minw": filters.min_width or None,
            "minh": filters.min_height or None, "text": TEXT_URL.get(filters.has_text),
            "words": TEXT_URL.get(filters.has_ocr),
            "from": filters.taken_from, "to": filters.taken_to,
            "minrel": round(minimum * 100) if calibrated and minimum else None,
            "mincos": minimum if not calibrated and minimum else None}


def cutoff_control(prefix: str, calibrated: bool) -> float:
    """A similarity cut-off: on the calibrated relevance where there is a curve, else on the raw
    cosine (0 keeps everything)."""
    if calibrated:
        return st.slider("Hide results below this relevance", 0, 100, step=5, format="%d%%",
                         key=f"{prefix}.f.cut", persist_state="session",
                         help="The calibrated chance that a result is relevant.") / 100
    return st.slider("Hide results below this cosine", 0.0, 1.0, step=0.01,
                     key=f"{prefix}.f.cut_cos", persist_state="session",
                     help="Raw similarity: this model has no relevance curve for this query.")


def cut(hits: loaders.Hits, probs: list[float] | None, minimum: float
        ) -> tuple[loaders.Hits, list[float] | None]:
    """The leading results at or above the cut-off (best first, so a prefix)."""
    if minimum <= 0:
        return hits, probs
    keep = strong_count(probs if probs is not None else [s for _, s, _ in hits], minimum)
    return hits[:keep], (probs[:keep] if probs is not None else None)


def download_buttons(index: Index, hits: loaders.Hits, probs: Sequence[float] | None,
                     prefix: str, stem: str) -> None:
    """CSV and JSON of the results (paths, scores, texts) and a zip of the images, which is
    built only when clicked."""
    ids = [i for i, _, _ in hits]
    rows = result_rows(index, ids, [s for _, s, _ in hits], probs)
    d1, d2, d3, _ = st.columns([1, 1, 1, 2])
    d1.download_button("CSV", to_csv(rows), f"{stem}.csv", "text/csv", key=f"{prefix}.dl.csv",
                       icon=":material/download:", on_click="ignore", width="stretch")
    d2.download_button("JSON", to_json(rows), f"{stem}.json", "application/json",
                       key=f"{prefix}.dl.json", icon=":material/download:", on_click="ignore",
                       width="stretch")
    d3.download_button("Images (zip)", lambda: images_zip(index, ids, rows), f"{stem}.zip",
                       "application/zip", key=f"{prefix}.dl.zip", icon=":material/folder_zip:",
                       on_click="ignore", width="stretch")


def near_source() -> str:
    source = st.session_state.get(NEAR_SOURCE_KEY)
    return source if source in NEAR_SOURCES else NEAR_SOURCES[0]


def near_threshold() -> float:
    return float(st.session_state.get(NEAR_KEY, DEFAULT_NEAR[near_source()]))


def _source_changed() -> None:
    st.session_state[NEAR_KEY] = DEFAULT_NEAR[near_source()]


def near_ready(entry: IndexEntry) -> bool:
    """Small indexes group near-duplicates at once (371 images: ~50 ms); a large one only once
    someone asks on Home (the comparison is quadratic: 20k images took 24 s here)."""
    return entry.items <= NEAR_AUTO_MAX or bool(st.session_state.get(NEAR_ASKED_KEY))


def near_map(entry: IndexEntry) -> dict[int, list[int]]:
    """id -> its near-duplicates at the session's threshold (the results' badge)."""
    return (near_of(loaders.near(entry, near_threshold(), near_source())) if near_ready(entry)
            else {})


NEAR_AUTO_MAX = 5_000
NEAR_ASKED_KEY = "near.asked"
NEAR_GROUPS_SHOWN = 12
NEAR_PER_GROUP = 5


def near_duplicates_section(entry: IndexEntry, index: Index, page: str) -> None:
    """Home's near-duplicate groups: the count, a threshold slider, and the groups as grids."""
    st.session_state.setdefault(NEAR_SOURCE_KEY, NEAR_SOURCES[0])
    st.session_state.setdefault(NEAR_KEY, DEFAULT_NEAR[near_source()])
    if not near_ready(entry):
        st.button(f"Find near-duplicates among the {entry.items:,} images", icon=":material/"
                  "content_copy:", key=f"{page}.near.ask",
                  on_click=lambda: st.session_state.update({NEAR_ASKED_KEY: True}),
                  help="Compares every pair of images once; slow for large indexes.")
        return
    # computed and drawn only while the expander is open: Home's first render stays light (a
    # fixed label: a changing one would make a new expander, closed)
    with st.expander("Near-duplicates: groups of look-alike images", key=f"{page}.near.open",
                     on_change="rerun") as box:
        if not box.open:
            return
        groups = loaders.near(entry, near_threshold(), near_source())
        extra = sum(len(g) - 1 for g in groups)
        by = "pixels" if near_source() == "pixels" else "embeddings"
        st.markdown(f"**{len(groups)} group{'' if len(groups) == 1 else 's'}**: {extra} "
                    f"image{' looks' if extra == 1 else 's look'} like another (their {by} at "
                    f"cosine ≥ {near_threshold():.2f}).")
        left, right = st.columns([2, 3])
        left.segmented_control("Compare", NEAR_SOURCES, key=NEAR_SOURCE_KEY,
                               format_func=NEAR_LABELS.get, persist_state="session",
                               on_change=_source_changed, required=True,
                               help="Pixels find copies (resized, re-encoded, a stereo pair); "
                                    "the model's embeddings are semantic: for most models here "
                                    "two different photos of one thing count as close.")
        right.slider("Threshold (cosine)", 0.80, 1.0, step=0.01, key=NEAR_KEY,
                     persist_state="session",
                     help="Lower finds looser look-alikes. Search results show a “+N "
                          "near-duplicates” badge at this setting.")
        if not groups:
            st.caption("No two images are this close.")
        for n, group in enumerate(groups[:NEAR_GROUPS_SHOWN]):
            st.caption(f"Group {n + 1}: {len(group)} images")
            grid.grid(index, named(index, group[:NEAR_PER_GROUP]), key=f"{page}.near.{n}",
                      action=grid.open_detail(page, entry.name))
        if len(groups) > NEAR_GROUPS_SHOWN:
            st.caption(f"… and {len(groups) - NEAR_GROUPS_SHOWN} more groups.")

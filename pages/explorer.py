"""Cluster explorer: k-means clusters and a 2-D map (PCA or t-SNE) of the whole collection or of
one image's neighbourhood. Each computation is cached per index and settings, so widgets that do
not change the inputs (tabs, chart selections) never recompute anything."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import streamlit as st

from app_support import charts, grid, loaders, state
from app_support.bootstrap import leave_legacy_multipage
from app_support.params import parse_id, parse_int
from core.analysis import clusters_view as view
from core.analysis import explore, labels, maps, precompute
from core.analysis.clusters_view import DEFAULT_K, DEFAULT_SIZE, K_MAX, MIN_IMAGES, TSNE_MAX, Scope
from core.index.items import named
from core.index.store import Index

leave_legacy_multipage()

PAGE = "explorer"
WHOLE, AROUND = "Whole collection", "Around one image"
PCA, TSNE = precompute.METHODS
MAX_POINTS = precompute.MAX_POINTS  # points on the scatter (the demo stores their tooltips)
MAX_SELECTED = 40
TABS = ("Scatter", "Thumbnail map", "Clusters", "Choosing k")
TAB_KEY = "ex.tab"


# Cached on (index path, manifest time, settings); `_index` is the loaded index, not hashed.
@st.cache_data(max_entries=16, show_spinner="Comparing cluster counts…")
def _sweep(path: str, stamp: float, scope: Scope, lo: int, hi: int,
           _index: Index) -> pd.DataFrame:
    return view.sweep_table(_index, scope, lo, hi)


@st.cache_data(max_entries=32, show_spinner="Clustering…")
def _clusters(path: str, stamp: float, scope: Scope, k: int,
              _index: Index) -> tuple[explore.ClusterResult, list[labels.ClusterSummary]]:
    return view.fit_clusters(_index, scope, k)


@st.cache_data(max_entries=16, show_spinner="Projecting to 2-D…")
def _projection(path: str, stamp: float, scope: Scope, method: str,
                _index: Index) -> tuple[np.ndarray, np.ndarray]:
    return view.fit_projection(_index, scope, tsne=method == TSNE)


@st.cache_data(max_entries=8, show_spinner="Preparing thumbnails for the chart…")
def _image_urls(path: str, stamp: float, ids: tuple[int, ...], _index: Index) -> list[str]:
    return precompute.tooltip_urls(_index, ids)


@st.cache_data(max_entries=8, show_spinner="Drawing the thumbnail map…")
def _map_jpeg(path: str, stamp: float, scope: Scope, method: str, thumb: int,
              _index: Index) -> bytes:
    coords, _ = _projection(path, stamp, scope, method, _index)
    return precompute.map_jpeg(_index, view.scope_rows(_index, scope), coords, thumb, method)


st.title("Cluster explorer")
st.caption("Group the collection into clusters and see it as a map: nearby points are images "
           "the model finds similar. Hover a point to see the image; select points to list them.")
entry, index = state.require_index()
state.random_weights_banner(entry)
if index.n < MIN_IMAGES:
    st.info(f"The **{entry.name}** index holds {index.n} images: exploring needs at least "
            f"{MIN_IMAGES}.",
            icon=":material/info:")
    st.stop()

defaults = {"ex.scope": WHOLE, "ex.method": PCA, "ex.k": DEFAULT_K, "ex.centre": 0,
            "ex.size": min(DEFAULT_SIZE, index.n), "ex.thumb": precompute.DEFAULT_THUMB}
for key, value in defaults.items():
    st.session_state.setdefault(key, value)
url = state.url_params_once()
if url.get("k"):
    st.session_state["ex.k"] = parse_int(url["k"], DEFAULT_K, 2, K_MAX)
if url.get("around"):
    st.session_state["ex.centre"] = parse_id(url["around"], index.n) or 0
    st.session_state["ex.scope"] = AROUND
    st.session_state["ex.size"] = parse_int(url.get("size"), DEFAULT_SIZE, MIN_IMAGES,
                                            view.size_max(index.n))
if url.get("proj") == "tsne":
    st.session_state["ex.method"] = TSNE
if parse_id(st.session_state["ex.centre"], index.n) is None:
    st.session_state["ex.centre"] = 0
st.session_state["ex.size"] = view.clamp(st.session_state["ex.size"], MIN_IMAGES,
                                         view.size_max(index.n))

c_scope, c_method, c_k = st.columns([2, 1, 2], vertical_alignment="bottom")
scope_name = c_scope.segmented_control("Fit on", [WHOLE, AROUND], key="ex.scope", required=True,
                                       help="Fit the clusters and the map on every image, or "
                                            "only on the nearest neighbours of one image.")
scope: Scope = None
if scope_name == AROUND:
    c_id, c_rand, c_size, c_img = st.columns([2, 1, 2, 1], vertical_alignment="bottom")
    centre = int(c_id.number_input(f"Centre image id (0–{index.n - 1})", 0, index.n - 1,
                                   key="ex.centre"))
    c_rand.button("Random image", icon=":material/casino:", width="stretch",
                  on_click=lambda: st.session_state.update(
                      {"ex.centre": random.randrange(index.n)}))
    size_hi = view.size_max(index.n)
    size = int(c_size.number_input(f"Neighbourhood size ({MIN_IMAGES}–{size_hi})", MIN_IMAGES,
                                   size_hi, key="ex.size"))
    c_img.image(loaders.tile(index, centre), width=96,
                caption=grid.short_name(index, centre))
    scope = view.scope_for(index.n, centre, size)
n_scope = index.n if scope is None else scope[1]
can_tsne = view.can_tsne(n_scope)
if not can_tsne:
    st.session_state["ex.method"] = PCA
method = c_method.segmented_control(
    "Projection", [PCA, TSNE] if can_tsne else [PCA], key="ex.method", required=True,
    help="PCA: a linear, faithful view of the main directions. t-SNE: keeps near neighbours "
         f"together, distorts distances (up to {TSNE_MAX} images).")
k_hi = view.k_max(n_scope)
st.session_state["ex.k"] = view.clamp(st.session_state["ex.k"], 2, k_hi)
k = int(c_k.number_input(f"Clusters k (2–{k_hi})", 2, k_hi, key="ex.k",
                         help="Use the charts under “Choosing k” to pick it."))
state.sync_url(k=k, around=scope[0] if scope else None, size=scope[1] if scope else None,
               proj="tsne" if method == TSNE else None)

path, stamp = str(entry.path), entry.stamp
with state.user_errors():
    result, summaries = _clusters(path, stamp, scope, k, index)
    coords, ratio = _projection(path, stamp, scope, str(method), index)
    ids = view.scope_rows(index, scope)
    m1, m2, m3 = st.columns(3)
    m1.metric("Images", f"{len(ids)}", help="in the scope the groups and the map are made of")
    m2.metric("Groups of similar images", k, help="Change it with “Clusters k” above.")
    m3.metric("How distinct the groups are", view.distinctness(result.silhouette),
              help="weak: the groups shade into each other; clear: they barely overlap.")
    with st.expander("Numbers for experts", icon=":material/analytics:"):
        st.markdown(f"- **Silhouette** {result.silhouette:.3f} (−1 to 1, higher = better "
                    "separated; on a sample of up to 2000 images)\n"
                    f"- **PCA 2-D variance** {100 * ratio[:2].sum():.1f} % (share of the "
                    "embedding variance the first two principal components keep: low means a "
                    "flat picture of a high-dimensional cloud)\n"
                    f"- **Inertia** {result.inertia:.1f} (k-means' sum of squared distances)")

    names = view.cluster_names(summaries)
    # Only the open tab is drawn (a tab switch reruns): the other three held 30 tiles, a large
    # JPEG and three charts that a first render computed, sent and drew for nobody.
    t_map, t_thumbs, t_clusters, t_k = st.tabs(list(TABS), key=TAB_KEY, on_change="rerun")
    if t_map.open:
        with t_map:
            sample = view.chart_sample(ids, coords, MAX_POINTS)
            urls = _image_urls(path, stamp, tuple(int(i) for i in sample.ids), index)
            df = view.scatter_frame(index, sample, result.labels, names, urls)
            if len(sample.ids) < len(ids):
                st.caption(f"Showing a fixed random sample of {len(sample.ids)} of {len(ids)} "
                           "images.")
            chart = charts.scatter(df, view.axis_titles(method == TSNE), list(names.values()))
            event = st.vega_lite_chart(chart, width="stretch", on_select="rerun",
                                       key=f"ex.chart.{scope}.{method}.{k}")
            picked_ids = view.picked_ids(sample, event.selection if event else None)
            if picked_ids:
                more = (f" (showing the first {MAX_SELECTED})"
                        if len(picked_ids) > MAX_SELECTED else "")
                st.markdown(f"**{len(picked_ids)} selected image{'s' * (len(picked_ids) != 1)}**"
                            f"{more}")
                grid.grid(index, named(index, picked_ids[:MAX_SELECTED]),
                          key="ex.selected", action=grid.open_detail(PAGE, entry.name))
            else:
                st.caption("Click a point (shift-click to add more) or drag a box to list the "
                           "images here.")
    if t_thumbs.open:
        with t_thumbs:
            thumb = st.select_slider("Thumbnail size (px)", [32, 40, 48, 56, 64, 80, 96],
                                     key="ex.thumb")
            st.image(_map_jpeg(path, stamp, scope, str(method), int(thumb), index),
                     width="stretch", caption=f"The images drawn at their {method} coordinates"
                     + (f" (a sample of {maps.MAX_MAP})" if len(ids) > maps.MAX_MAP else ""))
    if t_clusters.open:
        with t_clusters:
            st.caption("Clusters largest first; the images are those nearest the cluster centre"
                       + (". Labels are the words its members' descriptions share more than other "
                          "clusters' (credits and source names left out); an image without texts "
                          "counts with the classes the model sees in it."
                          if any(s.label for s in summaries) else "."))
            for rank, s in enumerate(summaries, 1):
                label = f" · _{s.label}_" if s.label else ""
                st.markdown(f"**Cluster {rank}** · {s.size} images{label}")
                grid.grid(index, named(index, s.nearest),
                          key=f"ex.cluster.{rank}", action=grid.open_detail(PAGE, entry.name))
    if t_k.open:
        with t_k:
            top, lo, hi = view.sweep_bounds(n_scope, st.session_state.get("ex.sweep"))
            if top > 2:
                st.session_state["ex.sweep"] = (lo, hi)
                lo, hi = st.slider("Range of k to compare", 2, top, key="ex.sweep")
            sweep = _sweep(path, stamp, scope, int(lo), int(hi), index)
            for col, chart in zip(st.columns(2), charts.sweep(sweep, k), strict=True):
                col.vega_lite_chart(chart, width="stretch")
            st.vega_lite_chart(charts.variance(view.variance_table(ratio)), width="stretch")
grid.show_detail_if_open(PAGE)

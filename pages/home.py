"""Home: which index (model variant) is in use, its manifest at a glance and a sample of its
images."""

from __future__ import annotations

import importlib
import importlib.util
import random

import pandas as pd
import streamlit as st

from app_support import grid, loaders, result_tools, state
from app_support.bootstrap import leave_legacy_multipage
from app_support.paging import sample_ids
from core.index.info import index_facts
from core.index.items import named

leave_legacy_multipage()

PAGE = "home"
SAMPLE = 10
SAMPLE_SEED_KEY = "home.sample_seed"
ABOUT_DATA_MODULE = "app_support.about_data"  # optional: defines render() -> None

st.title("Image search")
st.caption("Find images in a collection by describing them in words, or by showing a similar "
           "image. Everything runs locally on this machine.")

found = loaders.entries()
if not found:
    state.no_index_screen()
    st.stop()

entry, index = state.require_index()
# The index is picked in one place, the sidebar (every page has it); Home says which is current.
st.markdown(f"Searching **{entry.name}** ({entry.family}, {entry.items} images, "
            f"{entry.queries} queries). Every page uses this index; pick another under "
            "**Index (model variant)** in the sidebar (on a phone, open it with **»** at the "
            "top left).")
state.random_weights_banner(entry)

facts = index_facts(index)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Variant", entry.family, help=entry.spec)
c2.metric("Images", facts["images"])
c3.metric("Skipped files", facts["skipped files"])
c4.metric("Built", str(facts["built"])[:10], help=str(facts["built"]))
with st.expander("Index details"):
    st.table(pd.DataFrame({"value": [str(v) for v in facts.values()]}, index=list(facts)))
    by_reason = index.manifest.get("counts", {}).get("skipped_by_reason", {})
    if by_reason:
        st.markdown("**Skipped files by reason**\n" + "\n".join(
            f"- {reason}: {n}" for reason, n in by_reason.items()))

left, right = st.columns([4, 1], vertical_alignment="bottom")
left.subheader("A sample of the collection")
if right.button("Shuffle", icon=":material/shuffle:", width="stretch") \
        or SAMPLE_SEED_KEY not in st.session_state:
    st.session_state[SAMPLE_SEED_KEY] = random.randrange(1 << 30)
ids = sample_ids(index.n, SAMPLE, st.session_state[SAMPLE_SEED_KEY])
cells = named(index, ids)
grid.grid(index, cells, key="home.sample", action=grid.open_detail(PAGE, entry.name))
result_tools.near_duplicates_section(entry, index, PAGE)

st.divider()
st.subheader("Where to go next")
n1, n2, n3 = st.columns(3)
n1.page_link("pages/text_search.py", label="Search by text", icon=":material/search:")
n2.page_link("pages/neighbours.py", label="Find similar images",
             icon=":material/image_search:")
n3.page_link("pages/compare.py", label="Compare model variants", icon=":material/compare:")

# ---- About the data -------------------------------------------------------------------------
# The demo helper writes data/ATTRIBUTION.md; a richer section can live in the optional module
# ABOUT_DATA_MODULE (a `render()` function), called here when it exists.
attribution = state.attribution_file()
if attribution is not None:
    with st.expander("About the data: sources and licences"):
        st.markdown(loaders.text_file(str(attribution), attribution.stat().st_mtime))
if importlib.util.find_spec(ABOUT_DATA_MODULE) is not None:
    importlib.import_module(ABOUT_DATA_MODULE).render()
# ----------------------------------------------------------------------------------------------

state.sync_url()
grid.show_detail_if_open(PAGE)

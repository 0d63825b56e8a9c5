"""Image to text: the captions of a captioned set closest to an image, as image-to-text
retrieval systems show them. The set's captions are embedded once per (index, set), and read
from the index's cache where the demo stored them (app_support.loaders.caption_banks)."""

from __future__ import annotations

import random

import numpy as np
import streamlit as st
from PIL import Image

from app_support import loaders, state, uploads
from app_support.bootstrap import leave_legacy_multipage
from app_support.params import parse_id
from core.query import describe
from core.query.captionbank import CaptionBank, image_vector

leave_legacy_multipage()

GALLERY, UPLOAD = "Gallery image", "Upload an image"
ALL, TEST = "all captions", "test split only"
K_MAX = 50


@st.cache_data(max_entries=32, show_spinner=False)
def upload_vector(spec: str, digest: str, _image: Image.Image) -> np.ndarray:
    """Keyed by the upload's digest; the one decoded image is not hashed (`_image`)."""
    return image_vector(loaders.get_encoder(spec), _image)


def _random_image(n: int) -> None:
    st.session_state["i2t.id"] = random.randrange(n)


st.title("Image to text")
st.caption("Pick an image of the collection, or upload one, to see the captions of the captioned "
           "sets that describe it best (cosine similarity in the index's model space). All "
           "sets are ranked together unless you pick one.")

entry, index = state.require_index()
if not (entry.can_text and entry.can_image):
    st.info(f"The **{entry.name}** index ({entry.family}) cannot put images and texts in one "
            "space. " + state.indexes_that_can(text=True, image=True), icon=":material/info:")
    st.stop()
names = describe.sets_by_name(loaders.REPO_ROOT)
if not names:
    st.info("No captioned set found under `data/sets/` (folders with a `captions.jsonl`). "
            "The demo data command creates them: `python -m core demo`.",
            icon=":material/folder_off:")
    st.stop()
state.random_weights_banner(entry)

st.session_state.setdefault("i2t.id", 0)
if parse_id(st.session_state["i2t.id"], index.n) is None:
    st.session_state["i2t.id"] = 0
c_set, c_split, c_k = st.columns([2, 1, 1], vertical_alignment="bottom")
set_choice = c_set.selectbox("Captioned set", describe.set_options(list(names)), key="i2t.set",
                             help="All sets together by default, so the set whose captions fit "
                                  "the image wins by score, not by its name.")
split = c_split.radio("Captions", [ALL, TEST], key="i2t.split", horizontal=True)
k = int(c_k.number_input("Captions shown", 1, K_MAX, value=10, key="i2t.k"))
source = st.radio("Start from", [GALLERY, UPLOAD], key="i2t.source", horizontal=True,
                  label_visibility="collapsed")

vec: np.ndarray | None = None
image_path: str | None = None
left, right = st.columns([1, 3], gap="medium")
if source == GALLERY:
    image_id = int(left.number_input(f"Image id (0–{index.n - 1})", 0, index.n - 1, step=1,
                                     key="i2t.id"))
    left.button("Random image", icon=":material/casino:", key="i2t.random", width="stretch",
                on_click=_random_image, args=(index.n,))
    left.image(loaders.tile(index, image_id), width="stretch")
    left.caption(f"Image {image_id} · `{index.items.at[image_id, 'rel_path']}`")
    vec = describe.stored_vector(index, image_id)
    image_path = str(index.items.at[image_id, "path"])
else:
    preview, vec = uploads.uploaded_query(left, "i2t.upload", "Upload a photo or drawing.",
                                          lambda up: upload_vector(entry.spec, up.digest, up.image))
    if preview is not None:
        left.image(preview, width="stretch")

with right:
    banks: list[CaptionBank] = []
    with state.user_errors():
        banks = loaders.caption_banks(entry, [names[n] for n in describe.chosen_sets(
            set_choice, list(names))], "test" if split == TEST else None)
    if banks and vec is not None:
        with state.user_errors():
            hits = describe.nearest_in_sets(banks, vec, k)
            own = describe.own_texts(banks, image_path)
            where = (f"*{banks[0].set_name}*" if len(banks) == 1
                     else f"{len(banks)} sets (" + ", ".join(b.set_name for b in banks) + ")")
            st.markdown(f"**{len(hits)} nearest of {sum(len(b) for b in banks)} distinct "
                        f"captions** in {where} · model `{entry.spec}`")
            st.dataframe(describe.caption_table(hits, own), hide_index=True, width="stretch")
            if own:
                st.caption("This image belongs to a set: its own caption is ranked "
                           f"{describe.own_rank_note(hits, own, k)}.")

"""Recommender: vote Like / Dislike on one image at a time; after 3 of each a model learns the
taste (retrained on every vote: the mean of the likes against the mean of the dislikes while
votes are few, an RBF SVM as they accumulate) and ranks the whole collection. Votes live in the
browser session (one core.analysis.recommend.Recommender per index) and can be exported,
imported and reset."""

from __future__ import annotations

import random

import streamlit as st

from app_support import grid, loaders, state
from app_support.bootstrap import leave_legacy_multipage
from core.analysis.recommend import MIN_SCORED, Recommender
from core.errors import UserError
from core.index.catalogue import IndexEntry
from core.index.items import named
from core.index.store import Index

leave_legacy_multipage()

PAGE = "recommender"
SESSIONS_KEY = "rec.sessions"  # {index path@stamp: Recommender}
NOTICE_KEY, ERROR_KEY, UPLOAD_KEY = "rec.notice", "rec.import_error", "rec.upload_no"
C_OPTIONS = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]
GAMMA_OPTIONS: list[str | float] = ["scale", "auto", 0.1, 0.3, 1.0, 3.0, 10.0]
DEFAULT_TOP, TOP_MAX = 20, 200
SHOWN_VOTES = 20
VIEW_HEIGHT = 420  # px: the candidate is shown at this height (narrower for portrait images)


def session_key(entry: IndexEntry) -> str:
    return f"{entry.path}@{entry.stamp}"


def recommender(entry: IndexEntry, index: Index) -> Recommender:
    """This index's Recommender for this browser session (a rebuilt index starts afresh)."""
    sessions: dict[str, Recommender] = st.session_state.setdefault(SESSIONS_KEY, {})
    key = session_key(entry)
    if key not in sessions:
        sessions[key] = Recommender(index.embeddings, seed=random.randrange(1 << 30))
    return sessions[key]


def _session(key: str) -> Recommender | None:
    """Callbacks look the Recommender up by key: an import may have replaced the object."""
    return st.session_state.get(SESSIONS_KEY, {}).get(key)


def _vote(key: str, image_id: int, liked: bool | None) -> None:
    """Button callback; ignores a stale second click on an image that was already answered."""
    rec = _session(key)
    if rec is not None and rec.next_candidate() == image_id:
        rec.vote(image_id, liked)


def _set_params(key: str) -> None:
    rec = _session(key)
    if rec is not None:
        rec.set_params(float(st.session_state["rec.C"]), st.session_state["rec.gamma"])


def _reset(key: str) -> None:
    rec = _session(key)
    if rec is not None:
        rec.reset()
    st.session_state[NOTICE_KEY] = "All votes were forgotten."


def _import(entry: IndexEntry, index: Index, widget: str) -> None:
    """Uploader callback: replace this index's session by the file's, or say why not."""
    upload = st.session_state.get(widget)
    if upload is None:
        return
    try:
        rec = Recommender.from_json(upload.getvalue(), index.embeddings)
    except UserError as e:
        st.session_state[ERROR_KEY] = f"“{upload.name[:80]}” cannot be imported: {e}"
        return
    st.session_state[SESSIONS_KEY][session_key(entry)] = rec
    likes, dislikes = rec.counts()
    st.session_state[NOTICE_KEY] = (f"Imported {likes} likes, {dislikes} dislikes and "
                                    f"{len(rec.skipped)} skips from “{upload.name[:80]}”.")
    st.session_state[UPLOAD_KEY] = st.session_state.get(UPLOAD_KEY, 0) + 1  # empty the uploader


def _gamma_label(g: str | float) -> str:
    if isinstance(g, str):
        return {"scale": "scale (1 / (d · variance))", "auto": "auto (1 / d)"}.get(g, g)
    return f"{g:g}"


def candidate_panel(entry: IndexEntry, index: Index, rec: Recommender, i: int,
                    show_guess: bool) -> None:
    key = session_key(entry)
    item = index.item(i)
    w, h = int(item["width"] or 1), int(item["height"] or 1)
    data, _ = loaders.preview(index, i)
    with st.container(border=True):
        st.image(data, width=max(160, min(720, VIEW_HEIGHT * w // max(h, 1))),
                 alt=f"candidate {i}")
        texts = "; ".join(item["texts"][:2])
        st.caption(f"Image {i} · `{item['rel_path']}`" + (f"  \n{texts}" if texts else ""))
        with st.container(horizontal=True):
            st.button("Like", key="rec.like", icon=":material/thumb_up:", type="primary",
                      on_click=_vote, args=(key, i, True), shortcut="L")
            st.button("Dislike", key="rec.dislike", icon=":material/thumb_down:",
                      on_click=_vote, args=(key, i, False), shortcut="D")
            st.button("Skip", key="rec.skip", icon=":material/skip_next:", type="tertiary",
                      on_click=_vote, args=(key, i, None), shortcut="S",
                      help="Not sure: never show it again, without a vote")
        if show_guess:
            label, score = rec.prediction_for(i)
            st.caption("The model has no guess yet." if label is None else
                       f"The model guesses **{'like' if label else 'dislike'}** "
                       f"(score {score:+.2f}).")


def status_panel(index: Index, rec: Recommender) -> None:
    likes, dislikes = rec.counts()
    need = rec.min_votes_per_class
    if rec.is_trained:
        st.success(f"The model is trained on your {likes + dislikes} votes and retrained after "
                   "each one. Next it shows an image it is unsure about, unlike those you have "
                   "voted on, and keeps your likes and dislikes balanced.",
                   icon=":material/model_training:")
    else:
        done = min(likes, need) + min(dislikes, need)
        st.progress(done / (2 * need), text=f"Random images until you have {need} likes and "
                                             f"{need} dislikes: {likes} and {dislikes} so far.")
    c1, c2, c3 = st.columns(3)
    c1.metric("Likes", likes)
    c2.metric("Dislikes", dislikes)
    c3.metric("Skipped", len(rec.skipped))
    correct, total = rec.accuracy()
    interval = rec.accuracy_interval()
    if interval is None:
        so_far = f": {correct} of {total} right so far" if total else ""
        st.caption(f"Once trained, the model guesses each image before you vote{so_far}. Its "
                   f"accuracy is shown after {MIN_SCORED} guesses; fewer say too little.")
    else:
        lo, hi = interval
        st.metric("Model's guesses that were right", f"{100 * correct / total:.0f} %",
                  help="Each guess is recorded before you vote, so the model never grades itself "
                       "on an image it was trained on.")
        st.caption(f"{correct} of {total} guesses; 95 % interval {100 * lo:.0f}–{100 * hi:.0f} %. "
                   "Biased low: it guesses on the images it is least sure of, not on a random "
                   "image.")
    if rec.history:
        i, predicted, liked = rec.history[-1]
        verdict = "" if predicted is None else (
            " — the model guessed right" if predicted == liked else " — the model guessed wrong")
        st.caption(f"Last vote: {'like' if liked else 'dislike'} for "
                   f"`{grid.short_name(index, i)}`{verdict}.")


def settings_panel(entry: IndexEntry, index: Index, rec: Recommender) -> bool:
    """Model settings and the session's export / import / reset; returns the guess toggle."""
    with st.expander("Model settings", icon=":material/tune:"):
        st.session_state["rec.C"] = rec.C
        st.session_state["rec.gamma"] = rec.gamma
        st.select_slider("C (higher = fits your votes more closely)",
                         sorted({*C_OPTIONS, rec.C}), key="rec.C", on_change=_set_params,
                         args=(session_key(entry),), format_func=lambda c: f"{c:g}")
        gammas = GAMMA_OPTIONS + ([rec.gamma] if rec.gamma not in GAMMA_OPTIONS else [])
        st.selectbox("gamma (RBF width; higher = more local)", gammas, key="rec.gamma",
                     on_change=_set_params, args=(session_key(entry),), format_func=_gamma_label)
        st.caption("RBF-kernel SVM with balanced class weights, blended with the mean of your "
                   "likes minus the mean of your dislikes (which weighs more while votes are "
                   "few), on unit-length embeddings.")
        show_guess = st.toggle("Show the model's guess before I vote", key="rec.show_guess",
                               help="Off by default, so the guess does not sway your vote.")
    with st.expander("Save, load or reset your votes", icon=":material/save:"):
        st.download_button("Export votes (JSON)", rec.to_json(), icon=":material/download:",
                           file_name=f"votes-{entry.name}.json", mime="application/json",
                           on_click="ignore", key="rec.export")
        widget = f"rec.import.{st.session_state.get(UPLOAD_KEY, 0)}"
        st.file_uploader("Import votes (a JSON file exported here)", type=["json"], key=widget,
                         on_change=_import, args=(entry, index, widget))
        with st.popover("Reset", icon=":material/restart_alt:"):
            st.markdown(f"Forget all {len(rec.votes)} votes and {len(rec.skipped)} skips "
                        f"on **{entry.name}**?")
            st.button("Yes, forget my votes", key="rec.reset", type="primary",
                      on_click=_reset, args=(session_key(entry),))
    return bool(show_guess)


def ranking_panel(entry: IndexEntry, index: Index, rec: Recommender) -> None:
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    left.subheader("What you will probably like")
    if not rec.is_trained:
        st.info("The ranking appears once the model is trained "
                f"({rec.min_votes_per_class} likes and {rec.min_votes_per_class} dislikes).",
                icon=":material/hourglass_top:")
        return
    top = int(right.number_input("Show", 1, TOP_MAX, DEFAULT_TOP, key="rec.top"))
    ranked = rec.ranking(top)
    st.caption("The images you have not voted on or skipped that the model likes most, each "
               "next one the best that is not too like those before it, so one dense group "
               "cannot fill the list (score above 0 = predicted like).")
    cells = [(i, f"#{rank} · {score:+.2f} · {grid.short_name(index, i)}")
             for rank, (i, score) in enumerate(ranked, 1)]
    grid.grid(index, cells, key="rec.ranked", action=grid.open_detail(PAGE, entry.name))


def votes_panel(entry: IndexEntry, index: Index, rec: Recommender) -> None:
    if not rec.votes:
        return
    with st.expander(f"Your votes ({len(rec.votes)})", icon=":material/how_to_vote:"):
        for liked, title in ((True, "Liked"), (False, "Disliked")):
            ids = [i for i, v in reversed(rec.votes.items()) if v is liked][:SHOWN_VOTES]
            st.markdown(f"**{title}** (most recent first)")
            grid.grid(index, named(index, ids),
                      key=f"rec.votes.{liked}", action=grid.open_detail(PAGE, entry.name))


st.title("Recommender")
st.caption("Tell the app which images you like, one at a time. After a few of each it learns "
           "your taste and ranks the whole collection. Votes stay in this browser session.")
entry, index = state.require_index()
state.random_weights_banner(entry)
rec = recommender(entry, index)
for key, show in ((NOTICE_KEY, st.success), (ERROR_KEY, st.error)):
    message = st.session_state.pop(key, None)
    if message:
        show(message, icon=":material/info:" if show is st.success else ":material/error:")

left, right = st.columns([3, 2], gap="large")
with right:
    status_panel(index, rec)
    show_guess = settings_panel(entry, index, rec)
with left:
    candidate = rec.next_candidate()
    if candidate is None:
        st.success("You have voted on or skipped every image in this collection. Export your "
                   "votes, or reset to start again.", icon=":material/done_all:")
    else:
        candidate_panel(entry, index, rec, candidate, show_guess)

st.divider()
ranking_panel(entry, index, rec)
votes_panel(entry, index, rec)
state.sync_url()
grid.show_detail_if_open(PAGE)

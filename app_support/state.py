"""Session state shared by all pages: the selected index, the URL, and how errors are shown.

The global index selector lives in the sidebar and is rendered by `streamlit_app.py` on every
run, so its value survives page switches. URL parameters are read once per page per session and
always validated (`app_support.params`); pages write their state back with `sync_url`
so a view can be shared as a link.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

from app_support import loaders
from app_support.params import pick_name
from core.encoders.base import RANDOM_WEIGHTS_WARNING
from core.errors import UserError
from core.index.catalogue import IndexEntry, default_index
from core.index.store import Index

INDEX_KEY = "app.index"
PAGE_KEY = "app.page"
FIRST_PAGE_KEY = "app.first_page"
URL_DONE_KEY = "app.url_read"
BAD_LINK_KEY = "app.bad_link"
SEED_KEY = "neighbours.seed"  # content hash of the image "Find similar images" was asked for
NEIGHBOURS_PAGE = "pages/neighbours.py"
BUILD_DEMO = "python -m core demo"
BUILD_OWN = "python -m core build --images DIR --model conse:lite0 --out indexes/NAME"

# Streamlit's browser side pushes a history entry each time a script sets st.query_params. A
# page switch pushes the new path, then the page writes its state into the URL (`sync_url`): a
# second entry, so Back first went to the bare path, whose rerun wrote the same parameters back,
# and seemed to do nothing. This makes a push that keeps the path (only the query changes) a
# replace: one entry per page visit, and a page switch still pushes. Installed once per tab.
HISTORY_JS = """<script>
if (!window.imageSearchReplacesQueryPushes) {
  window.imageSearchReplacesQueryPushes = true;
  const push = window.history.pushState.bind(window.history);
  window.history.pushState = (data, unused, url) => {
    const next = url == null ? window.location : new URL(url, window.location.href);
    if (next.pathname === window.location.pathname) {
      window.history.replaceState(data, unused, url);
    } else {
      push(data, unused, url);
    }
  };
}
</script>"""


def entry_by_name(name: str | None) -> IndexEntry | None:
    return next((e for e in loaders.entries() if e.name == name), None)


def sidebar_selector() -> IndexEntry | None:
    """The global index (model variant) picker; the entrypoint renders it before every page."""
    found = loaders.entries()
    names = [e.name for e in found]
    if not names:
        st.sidebar.info("No index yet: see Home for how to build one.")
        return None
    if not st.session_state.get("app.url_index_read"):
        st.session_state["app.url_index_read"] = True
        asked = st.query_params.get("index")
        chosen = pick_name(asked, names)
        if asked and chosen is None:
            st.session_state[BAD_LINK_KEY] = str(asked)[:80]
        if chosen:
            st.session_state[INDEX_KEY] = chosen
    if st.session_state.get(INDEX_KEY) not in names:
        st.session_state[INDEX_KEY] = default_index(found)
    labels = {e.name: f"{e.name} ({e.family})" for e in found}
    with st.sidebar:
        name = st.selectbox("Index (model variant)", names, key=INDEX_KEY,
                            format_func=lambda n: labels[n],
                            help="Every page searches this index. Indexes are folders built with "
                                 "`python -m core build`.")
        entry = entry_by_name(name)
        if entry is not None:
            st.caption(f"{entry.items} images · {entry.queries} queries  \nModel `{entry.spec}`")
            if entry.random_weights:
                st.warning(f"This index uses {RANDOM_WEIGHTS_WARNING}.", icon=":material/warning:")
    bad = st.session_state.pop(BAD_LINK_KEY, None)
    if bad:
        st.warning(f"The link asks for an index named '{bad}', which is not available here; "
                   f"showing '{name}' instead.", icon=":material/link_off:")
    return entry


def indexes_that_can(text: bool = False, image: bool = False, shown: int = 4) -> str:
    """The end of a "this index cannot" message: the indexes here that can, the app's default
    first and marked, in one sentence (never a model family that is not installed here)."""
    found = loaders.entries()
    able = [e.name for e in found if (e.can_text or not text) and (e.can_image or not image)]
    if not able:
        return f"No index here can; build one, e.g. `{BUILD_OWN}`."
    default = default_index(found)
    ordered = sorted(able, key=lambda n: n != default)  # stable: scan order after the default
    named = [f"**{n}** (the default)" if n == default else f"**{n}**" for n in ordered[:shown]]
    more = f" and {len(ordered) - shown} more" if len(ordered) > shown else ""
    listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + f" or {named[-1]}"
    return f"Pick one that can in the sidebar: {listed}{more}."


def current_entry() -> IndexEntry | None:
    return entry_by_name(st.session_state.get(INDEX_KEY))


def require_index() -> tuple[IndexEntry, Index]:
    """The selected index, loaded (cached); otherwise a clear screen and the page stops."""
    entry = current_entry()
    if entry is None:
        no_index_screen()
        st.stop()
    try:
        return entry, loaders.get_index(entry)
    except UserError as e:
        st.error(f"The index '{entry.name}' cannot be opened: {e}")
        st.stop()
    raise AssertionError("unreachable")


def names_and_current() -> tuple[list[str], IndexEntry]:
    """The scanned index names and the current index, for pages that pick several indexes; the
    no-index screen (and the end of the run) when there is none."""
    names = [e.name for e in loaders.entries()]
    current = current_entry()
    if current is None:
        no_index_screen()
        st.stop()
    return names, current


def open_indexes(names: list[str]) -> list[tuple[IndexEntry, Index]]:
    """(entry, loaded index) for each chosen name that is still there; one that fails to load
    shows its error and is left out."""
    pairs: list[tuple[IndexEntry, Index]] = []
    for name in names:
        entry = entry_by_name(name)
        if entry is not None:
            with user_errors():
                pairs.append((entry, loaders.get_index(entry)))
    return pairs


def no_index_screen() -> None:
    root = loaders.root()
    shown = root.relative_to(loaders.REPO_ROOT) if root.is_relative_to(loaders.REPO_ROOT) else root
    st.warning(f"No image index found in `{shown}`.", icon=":material/folder_off:")
    st.markdown("An index is a folder of embeddings and thumbnails built from your images. "
                "From the project folder, build the demo collection:")
    st.code(BUILD_DEMO, language="bash")
    st.markdown("or index a folder of your own images:")
    st.code(BUILD_OWN, language="bash")
    st.caption("The app scans `indexes/` by default; set `IMAGE_SEARCH_INDEXES` to scan another "
               "folder. Reload this page once the build has finished.")


def random_weights_banner(entry: IndexEntry) -> None:
    if entry.random_weights:
        st.warning(f"Model `{entry.spec}`: {RANDOM_WEIGHTS_WARNING}. Scores and rankings below "
                   "are for testing the app only.", icon=":material/warning:")


def begin_run(page_url_path: str) -> None:
    """Called by the entrypoint: remember the page this run shows, and the session's first page;
    and make URL updates within a page replace the history entry (HISTORY_JS)."""
    st.sidebar.html(HISTORY_JS, unsafe_allow_javascript=True)
    st.session_state[PAGE_KEY] = page_url_path
    st.session_state.setdefault(FIRST_PAGE_KEY, page_url_path)


def url_params_once() -> dict[str, str]:
    """The URL's parameters if this is the page the session opened on (a shared link), once.

    Later visits use the page's own remembered widgets, never parameters left by another page.
    """
    if (st.session_state.get(PAGE_KEY) != st.session_state.get(FIRST_PAGE_KEY)
            or st.session_state.get(URL_DONE_KEY)):
        return {}
    st.session_state[URL_DONE_KEY] = True
    return {k: st.query_params.get(k, "") for k in st.query_params}


def sync_url(**params: object) -> None:
    """Make the URL show the selected index and this page's query (empty values left out)."""
    entry = current_entry()
    wanted = {"index": entry.name} if entry else {}
    wanted |= {k: str(v) for k, v in params.items() if v not in (None, "")}
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def take_pending(key: str) -> None:
    """Apply a value queued for widget `key` (set from a dialog, before the widget renders)."""
    pending = f"{key}.pending"
    if pending in st.session_state:
        st.session_state[key] = st.session_state.pop(pending)


def queue_value(key: str, value: object) -> None:
    st.session_state[f"{key}.pending"] = value


@contextmanager
def user_errors() -> Iterator[None]:
    """Show a core UserError as a one-line st.error instead of a traceback."""
    try:
        yield
    except UserError as e:
        st.error(str(e), icon=":material/error:")


def attribution_file() -> Path | None:
    """data/ATTRIBUTION.md written by the demo helper, if the demo data is here."""
    path = loaders.REPO_ROOT / "data" / "ATTRIBUTION.md"
    return path if path.is_file() else None

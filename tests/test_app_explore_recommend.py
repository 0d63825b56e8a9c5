"""The Cluster explorer and Recommender pages, headless with AppTest on the real test indexes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest
from test_app import APP, TIMEOUT, ok, texts

from core.analysis.clusters_view import distinctness
from core.analysis.explore import kmeans, neighbourhood
from core.analysis.recommend import MIN_SCORED, Recommender
from core.analysis.selection import wilson
from core.index.catalogue import ENV_INDEXES
from core.index.store import load_index

pytestmark = pytest.mark.usefixtures("warm_server")  # see conftest.warm_server

EXPLORER, RECOMMENDER = "pages/explorer.py", "pages/recommender.py"


@pytest.fixture
def app(monkeypatch, index_root: Path) -> AppTest:
    monkeypatch.setenv(ENV_INDEXES, str(index_root))
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT)


def metric(at: AppTest, label: str) -> str:
    return next(str(m.value) for m in at.metric if m.label == label)


def charts(at: AppTest) -> list:
    return list(at.get("vega_lite_chart"))


def cluster_lines(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**Cluster ")]


def open_tab(at: AppTest, label: str) -> AppTest:
    """The explorer draws only its open tab: open another, as a click on it does (a rerun)."""
    at.session_state["ex.tab"] = label
    return ok(at.run())


def map_captions(at: AppTest) -> list[str]:
    return [c for im in at.image for c in im.captions if "coordinates" in c]


def test_explorer_k3_shows_clusters_and_charts(app: AppTest, conse_index_path: Path) -> None:
    at = ok(app.switch_page(EXPLORER).run())
    assert at.title[0].value == "Cluster explorer"
    at = ok(at.number_input(key="ex.k").set_value(3).run())
    index = load_index(conse_index_path)
    assert metric(at, "Images") == str(index.n) and metric(at, "Groups of similar images") == "3"
    silhouette = kmeans(index.embeddings, 3).silhouette
    # plain words on the tiles, the expert numbers behind an expander
    assert metric(at, "How distinct the groups are") == distinctness(silhouette)
    assert metric(at, "How distinct the groups are") in ("weak", "moderate", "clear")
    assert not any(m.label in ("Silhouette", "PCA 2-D variance") for m in at.metric)
    (expert,) = [e for e in at.expander if e.label == "Numbers for experts"]
    assert f"**Silhouette** {silhouette:.3f}" in expert.markdown[0].value
    assert "**PCA 2-D variance**" in expert.markdown[0].value
    # the first render draws the open tab only: the scatter, no cluster tiles, map or k charts
    assert len(charts(at)) == 1 and not cluster_lines(at) and not map_captions(at)
    scatter = json.loads(charts(at)[0].proto.spec)
    assert {p["name"] for p in scatter["params"]} == {"picked", "region"}
    lines = cluster_lines(open_tab(at, "Clusters"))
    assert len(lines) == 3 and not charts(at)
    sizes = [int(line.split(" · ")[1].split()[0]) for line in lines]
    assert sum(sizes) == index.n and sizes == sorted(sizes, reverse=True)
    assert all(" · _" in line for line in lines)  # the photos have captions: labelled clusters
    at = open_tab(at, "Choosing k")
    assert len(charts(at)) == 3  # inertia and silhouette over k, explained variance
    assert any("at their PCA coordinates" in c for c in map_captions(open_tab(at, "Thumbnail map")))
    assert at.query_params["k"] == "3"


def test_explorer_scatter_tooltips_carry_thumbnails(app: AppTest) -> None:
    at = ok(app.switch_page(EXPLORER).run())
    chart = charts(at)[0].proto
    spec = json.loads(chart.spec)
    assert [t["field"] for t in spec["encoding"]["tooltip"]][0] == "image"  # drawn as a picture
    (dataset,) = chart.datasets
    rows = pa.ipc.open_stream(dataset.data.data).read_all().to_pandas()
    assert len(rows) == 8 and rows["id"].tolist() == list(range(8))
    assert all(u.startswith("data:image/jpeg;base64,") and len(u) < 12_000 for u in rows["image"])
    assert rows["texts"].str.len().min() > 0 and rows["cluster"].nunique() == 6


def test_explorer_neighbourhood_and_tsne(app: AppTest, efficientnet_index_path: Path) -> None:
    app.query_params.update({"index": "efficientnet", "around": "2", "size": "5", "k": "9"})
    at = ok(app.switch_page(EXPLORER).run())
    assert at.session_state["ex.scope"] == "Around one image"
    assert metric(at, "Images") == "5"
    assert at.number_input(key="ex.k").value == 4  # clamped to the neighbourhood: 2..n-1
    index = load_index(efficientnet_index_path)
    near = set(neighbourhood(index.embeddings, 2, 5).tolist())
    at = open_tab(at, "Clusters")
    shown = {int(b.key.rsplit(".", 1)[1]) for b in at.button
             if b.key and b.key.startswith("ex.cluster.")}
    assert shown and shown <= near  # cluster members come from the neighbourhood only
    at = open_tab(at, "Thumbnail map")
    at = ok(at.segmented_control(key="ex.method").set_value("t-SNE").run())
    assert any("at their t-SNE coordinates" in c for c in map_captions(at))
    assert at.query_params["proj"] == "tsne" and at.query_params["around"] == "2"


def _rec(at: AppTest) -> Recommender:
    sessions = at.session_state["rec.sessions"]
    assert len(sessions) == 1
    return next(iter(sessions.values()))


def _vote_until_trained(at: AppTest) -> AppTest:
    """Like the first three images shown, dislike the next ones until the model trains."""
    seen: list[int] = []
    while not _rec(at).is_trained:
        rec = _rec(at)
        current = rec.next_candidate()
        assert current is not None and current not in seen
        seen.append(current)
        button = "rec.like" if rec.counts()[0] < 3 else "rec.dislike"
        at = ok(at.button(key=button).click().run())
        assert _rec(at).votes.get(current) is (button == "rec.like")
        assert len(seen) <= 6
    assert _rec(at).counts() == (3, 3)
    return at


def test_recommender_votes_train_the_svm_and_rank(app: AppTest) -> None:
    at = ok(app.switch_page(RECOMMENDER).run())
    assert at.title[0].value == "Recommender"
    assert "once the model is trained" in texts(at.info)
    at = _vote_until_trained(at)
    assert "The model is trained on your 6 votes" in texts(at.success)
    assert any(s.value == "What you will probably like" for s in at.subheader)
    rec = _rec(at)
    ranked = [c for im in at.image for c in im.captions if c.startswith("#")]
    assert len(ranked) == rec.n - 6
    assert [c.split(" · ")[1] for c in ranked] == [f"{s:+.2f}" for _, s in rec.ranking(20)]
    assert sorted(s for _, s in rec.ranking(20)) == sorted(s for _, s in rec.ranking())
    at = ok(at.button(key="rec.skip").click().run())
    assert len(_rec(at).skipped) == 1
    at = ok(at.button(key="rec.like").click().run())
    correct, total = _rec(at).accuracy()
    assert total == 1
    # one guess is no accuracy: no big "1 / 1 (100 %)" tile, a plain sentence instead
    assert not any(m.label == "Model's guesses that were right" for m in at.metric)
    assert (f"{correct} of 1 right so far. Its accuracy is shown after {MIN_SCORED} guesses"
            in texts(at.caption))
    at = ok(at.select_slider(key="rec.C").set_value(10.0).run())
    assert _rec(at).C == 10.0 and _rec(at).is_trained


def test_recommender_export_import_round_trip(app: AppTest) -> None:
    at = ok(app.switch_page(RECOMMENDER).run())
    at = _vote_until_trained(at)
    exported = _rec(at).to_json()  # what the Export button serves
    votes, scores = dict(_rec(at).votes), _rec(at).scores()
    at = ok(at.button(key="rec.reset").click().run())
    assert _rec(at).votes == {} and not _rec(at).is_trained
    assert "forgotten" in texts(at.success)
    at.file_uploader(key="rec.import.0").set_value(("bad.json", b"{not json",
                                                    "application/json"))
    at = at.run()
    assert not at.exception and "cannot be imported" in texts(at.error)
    assert _rec(at).votes == {}
    at.file_uploader(key="rec.import.0").set_value(("votes.json", exported.encode(),
                                                    "application/json"))
    at = ok(at.run())
    assert "Imported 3 likes, 3 dislikes" in texts(at.success)
    assert _rec(at).votes == votes and _rec(at).is_trained
    np.testing.assert_allclose(_rec(at).scores(), scores)
    assert at.file_uploader(key="rec.import.1") is not None  # a fresh, empty uploader
    other = json.loads(exported) | {"n": 3}
    at.file_uploader(key="rec.import.1").set_value(("other.json", json.dumps(other).encode(),
                                                    "application/json"))
    at = at.run()
    assert "made for a collection of 3 images" in texts(at.error)
    assert _rec(at).votes == votes


def test_recommender_accuracy_shows_with_its_interval(app: AppTest) -> None:
    """Once MIN_SCORED guesses are scored, the accuracy tile appears with its Wilson interval."""
    at = ok(app.switch_page(RECOMMENDER).run())
    saved = json.loads(_rec(at).to_json())
    votes = [[i, i < 4] for i in range(8)]
    history = [[i % 8, (i % 8 < 4) if i < 9 else (i % 8 >= 4), i % 8 < 4] for i in range(12)]
    saved.update(votes=votes, history=history)
    at.file_uploader(key="rec.import.0").set_value(("votes.json", json.dumps(saved).encode(),
                                                    "application/json"))
    at = ok(at.run())
    assert _rec(at).accuracy() == (9, 12)
    assert metric(at, "Model's guesses that were right") == "75 %"
    lo, hi = wilson(9, 12)
    assert f"9 of 12 guesses; 95 % interval {100 * lo:.0f}–{100 * hi:.0f} %" in texts(at.caption)


def test_each_index_keeps_its_own_votes(app: AppTest) -> None:
    at = ok(app.switch_page(RECOMMENDER).run())
    at = ok(at.button(key="rec.like").click().run())
    at = ok(at.selectbox(key="app.index").set_value("captions").run())
    sessions = at.session_state["rec.sessions"]
    assert len(sessions) == 2
    assert sorted(len(r.votes) for r in sessions.values()) == [0, 1]


def test_explorer_computes_once_per_setting(app: AppTest, monkeypatch) -> None:
    """Reruns that change nothing the computation depends on reuse the cached results."""
    import streamlit as st

    from core.analysis import explore

    calls: dict[str, int] = {"kmeans": 0, "pca_2d": 0, "k_sweep": 0}

    def counted(name: str) -> Callable[..., object]:
        real = getattr(explore, name)

        def wrapper(*args: object, **kwargs: object) -> object:
            calls[name] += 1
            return real(*args, **kwargs)
        return wrapper

    for name in calls:
        monkeypatch.setattr(explore, name, counted(name))
    st.cache_data.clear()
    at = ok(app.switch_page(EXPLORER).run())
    assert calls == {"kmeans": 1, "pca_2d": 1, "k_sweep": 0}  # the k sweep's tab is closed
    at = open_tab(at, "Choosing k")
    assert calls == {"kmeans": 1, "pca_2d": 1, "k_sweep": 1}
    at = open_tab(at, "Thumbnail map")
    at = ok(at.select_slider(key="ex.thumb").set_value(80).run())  # only the map is redrawn
    at = ok(at.run())
    at = open_tab(at, "Choosing k")
    assert calls == {"kmeans": 1, "pca_2d": 1, "k_sweep": 1}
    at = ok(at.number_input(key="ex.k").set_value(3).run())
    assert calls == {"kmeans": 2, "pca_2d": 1, "k_sweep": 1}
    at = ok(at.number_input(key="ex.k").set_value(6).run())  # back to a setting seen before
    assert calls == {"kmeans": 2, "pca_2d": 1, "k_sweep": 1}


def test_explorer_url_size_is_capped(app: AppTest, monkeypatch) -> None:
    """A shared link cannot ask for a neighbourhood bigger than the limit (here 5 of 10)."""
    from core.analysis import clusters_view

    monkeypatch.setattr(clusters_view, "AROUND_MAX", 5)
    app.query_params.update({"index": "efficientnet", "around": "3", "size": "3000",
                             "proj": "tsne"})
    at = ok(app.switch_page(EXPLORER).run())
    assert at.number_input(key="ex.size").value == 5 and metric(at, "Images") == "5"
    assert at.query_params["size"] == "5" and at.query_params["proj"] == "tsne"

"""Cluster labels name what the images show: not who took them, where they came from, nor their
file names (issue 17, point 3), and images without texts are named by what the model sees."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from core.analysis import clusters_view as view
from core.analysis.labels import cluster_labels, credit_words, label_words, labels_from_words
from core.encoders.weights import imagenet_classes
from core.index.store import Index, load_index
from core.paths import indexes_dir

# The demo gallery's GCompris fish, as its manifest has them: one photographer took many.
FISH = [(["fish", "fish: pagellus acarne"],
         "Stefano Guerrieri; https://commons.wikimedia.org/wiki/File:Pagellus_acarne_04-08.jpg"),
        (["fish", "fish: symphodus ocellatus (stefano guerrieri)"],
         "Stefano Guerrieri; https://commons.wikimedia.org/wiki/File:Symphodus_ocellatus.jpg"),
        (["fish", "fish: diplodus vulgaris (stefano guerrieri)"], "Stefano Guerrieri"),
        (["fish", "fish: anthia goldfish"], "Alan Slater; https://commons.wikimedia.org/x.JPG")]
FOOLBOX = [["bull mastiff", "ImageNet class 243"], ["dalmatian", "ImageNet class 251"],
           ["goose", "ImageNet class 99"], ["spoonbill", "ImageNet class 129"]]


def _fish_words() -> list[dict[str, float]]:
    return [label_words(texts, f"gcompris/fishes/fish{i}.jpg", credit_words(who, "gcompris"))
            for i, (texts, who) in enumerate(FISH)]


def test_credits_are_not_labels() -> None:
    words = _fish_words()
    assert all("stefano" not in w and "guerrieri" not in w for w in words)
    assert "pagellus" in words[0]  # the species in the file's web address is no credit
    others = [label_words(t) for t in FOOLBOX]
    fish_label, other_label = labels_from_words([words, others])
    assert fish_label.split(", ")[0] == "fish"
    assert "stefano" not in fish_label and "guerrieri" not in fish_label


def test_source_names_and_licence_words_are_not_labels() -> None:
    label = cluster_labels([[t for t in FOOLBOX],
                            [["A wallpaper from KDE Plasma", "CC-BY-SA-4.0, photo by Ian"]] * 3])
    assert "imagenet" not in label[0] and "class" not in label[0]
    assert not set(label[1].split(", ")) & {"wallpaper", "kde", "plasma", "cc", "photo", "by"}


def _single(words: dict[str, float]) -> set[str]:
    return {w for w in words if " " not in w}


def test_a_file_name_echo_counts_only_without_a_description() -> None:
    assert label_words(["chelsea", "Chelsea the cat."], "skimage/chelsea.jpg") == {
        "chelsea": 1.0, "cat": 1.0}
    assert _single(label_words(["stereo motorcycle left", "Rectified stereo image pair"],
                               "skimage/stereo_motorcycle_left.jpg")) == {"rectified", "stereo",
                                                                          "pair"}
    assert _single(label_words(["cutting tool"], "tools/cuttingTool.jpg")) == {"cutting", "tool"}


def test_two_word_names_stand_for_their_words() -> None:
    energy = [["dam", "dam (renewable energy)"], ["windmill", "windmill (renewable energy)"],
              ["solar panel", "solar panel (renewable energy)"]]
    assert "windmill renewable" not in label_words(energy[1])  # not across the bracket
    label = cluster_labels([energy, FOOLBOX])[0]
    assert label.split(", ")[0] == "renewable energy", label
    assert "renewable" not in label.split(", ") and "energy" not in label.split(", ")


def test_titles_outweigh_paragraph_words() -> None:
    words = label_words(["Giraffe", "The giraffe lives in Africa and is the tallest mammal."])
    assert words["giraffe"] == 1.0 and words["mammal"] == 0.5 and "lives" not in words


@pytest.fixture(scope="module")
def textless(conse_index_path: Path) -> Index:
    """The ConSE test index with every text taken away."""
    index = load_index(conse_index_path)
    items = index.items.copy()
    items["texts"] = [None] * len(items)
    return dataclasses.replace(index, items=items)


def test_images_without_texts_are_named_by_their_imagenet_classes(textless: Index) -> None:
    rows = view.label_rows(textless, np.arange(textless.n))
    classes = set(imagenet_classes())
    assert all(rows) and all(set(r) <= classes for r in rows)
    _, summaries = view.fit_clusters(textless, None, 3)
    assert all(s.label for s in summaries)
    assert all(set(s.label.split(", ")) <= classes for s in summaries)


def test_demo_cluster_labels_carry_no_credits() -> None:
    """On the app's default index, the six clusters' labels use no member's credit words, and
    the fish cluster is named "fish" first (it read "fish, guerrieri, stefano")."""
    path = indexes_dir() / "demo-hybrid"
    if not path.exists():
        pytest.skip("the demo is not built here: python -m core demo")
    index = load_index(path)
    result, summaries = view.fit_clusters(index, None, view.DEFAULT_K)
    labels = [s.label for s in summaries]
    assert all(labels), labels
    for s in summaries:
        members = np.flatnonzero(result.labels == s.cluster)
        credits = set().union(*(credit_words(str(index.items["attribution"].iat[int(i)]))
                                for i in members))
        assert not set(s.label.split(", ")) & credits, (s.label, credits & set(s.label.split()))
        assert not set(s.label.split(", ")) & {"imagenet", "class", "group", "gcompris"}
    assert any(label.startswith("fish") for label in labels), labels

"""The recommender learns "animals", not "fish", on the demo gallery (issue 17, point 4).

Liking six varied animals and disliking six other things gave 17 fish in the top 20: the gallery
holds 28 GCompris fish photos, a dense cluster that an RBF SVM on twelve votes ranked above
every other animal. Whether an image shows an animal is read from data/MANIFEST.csv (GCompris
animal folders, and foolbox's ImageNet photos of classes 0-397, ImageNet's animals), never from
a model. Runs on the app's default index, demo-hybrid (`python -m core demo` builds it); skipped
where the demo is not built.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from core.analysis.recommend import Recommender
from core.index.store import Index, load_index
from core.paths import data_dir, indexes_dir

INDEX = "demo-hybrid"
ANIMAL_CATEGORIES = {"animal", "farm animal", "wild animal", "fish"}
LAST_ANIMAL_CLASS = 397  # ImageNet-1k classes 0..397 are animals
LIKES = ["gcompris/explore_farm_animals/animals/cat.jpg",
         "gcompris/explore_world_animals/animals/giraffe.jpg", "gcompris/erase/bee.jpg",
         "gcompris/categorization/images/fishes/fish5.jpg",
         "gcompris/explore_farm_animals/animals/duck.jpg",
         "gcompris/explore_world_animals/animals/kangaroo.jpg"]
DISLIKES = ["gcompris/explore_monuments/egypt/redPyramid.jpg",
            "gcompris/explore_monuments/france/eiffelTower.jpg",
            "gcompris/categorization/images/tools/hammer1.jpg", "ifct/A018.jpg",
            "wallpapers/plasma-workspace-wallpapers/ColdRipple.jpg",
            "gcompris/categorization/images/others/bucket.jpg"]


def animal_kinds(manifest: Path) -> dict[str, str | None]:
    """Gallery path -> kind of animal ("fish" for every fish, else the file's name, or the
    ImageNet class name), None for an image that is not an animal."""
    out: dict[str, str | None] = {}
    with manifest.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["set"] != "gallery":
                continue
            rel = row["path"].removeprefix("gallery/")
            kind = None
            if row["category"] in ANIMAL_CATEGORIES:
                stem = rel.rsplit("/", 1)[-1].rsplit(".", 1)[0]
                kind = "fish" if row["category"] == "fish" else re.sub(r"\d+", "", stem)
            elif (m := re.search(r"ImageNet class (\d+)", row["texts"])) and int(
                    m.group(1)) <= LAST_ANIMAL_CLASS:
                kind = row["texts"].split(" | ")[0].lower()
            out[rel] = kind
    return out


@pytest.fixture(scope="module")
def demo() -> tuple[Index, list[str | None]]:
    path, manifest = indexes_dir() / INDEX, data_dir() / "MANIFEST.csv"
    if not (path.exists() and manifest.is_file()):
        pytest.skip(f"the demo is not built here ({path}, {manifest}): python -m core demo")
    index = load_index(path)
    kinds = animal_kinds(manifest)
    return index, [kinds.get(str(r)) for r in index.items["rel_path"]]


def _top20(rec: Recommender, kinds: list[str | None]) -> tuple[float, Counter]:
    top = [kinds[i] for i, _ in rec.ranking(20)]
    assert len(top) == 20
    return sum(k is not None for k in top) / 20, Counter(k for k in top if k)


def _assert_broad(share: float, counts: Counter) -> None:
    assert share >= 0.8, (share, counts)
    assert len(counts) >= 4, counts
    assert max(counts.values()) <= 10, counts  # no one kind fills half the list (17 fish did)


def test_six_animals_liked_six_others_disliked(demo) -> None:
    index, kinds = demo
    row = {str(r): i for i, r in enumerate(index.items["rel_path"])}
    assert len({kinds[row[r]] for r in LIKES}) == 6 and all(kinds[row[r]] is None
                                                            for r in DISLIKES)
    rec = Recommender(index.embeddings, seed=0)
    for rel in LIKES:
        rec.vote(row[rel], True)
    for rel in DISLIKES:
        rec.vote(row[rel], False)
    _assert_broad(*_top20(rec, kinds))


@pytest.mark.parametrize("seed", range(4))
def test_voting_on_its_own_candidates(demo, seed: int) -> None:
    """The page's loop: like every animal shown, dislike the rest, until 6 of each."""
    index, kinds = demo
    truth = np.array([k is not None for k in kinds])
    rec = Recommender(index.embeddings, seed=seed)
    while min(rec.counts()) < 6:
        i = rec.next_candidate()
        assert i is not None
        rec.vote(i, bool(truth[i]))
    _assert_broad(*_top20(rec, kinds))

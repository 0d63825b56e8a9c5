"""Cluster labels and summaries from the members' texts: the words that set a cluster apart.

Texts of real collections carry words that say nothing about the picture: credits ("Stefano
Guerrieri", "photo by", "CC-BY-SA"), where an image came from ("GCompris", "ImageNet class
243", "wallpaper") and boilerplate ("a food from the group ..."). Those are removed before
scoring, or a photographer who took a dozen fish photos names the fish cluster. Each word is then
scored by class-based tf-idf (BERTopic's c-TF-IDF over members): the share of the cluster's
members that mention it, times log(1 + average cluster size / members anywhere that mention it),
so a word every cluster uses scores near zero and one only this cluster uses scores highest.
"""

from __future__ import annotations

import importlib.util
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.analysis.explore import ClusterResult, check_embeddings, cluster_members_near_centre
from core.errors import UserError
from core.ingest.pathwords import GENERIC, path_words

# Caption boilerplate that says nothing about a cluster ("a photo of a koala", "a food from
# the group cereals", the verbs of encyclopaedic paragraphs: "it was built", "it lives in",
# and of GCompris' boards: "the cow goes 'moo'"),
# credit and licence words, and the names of sources and packages.
_BOILERPLATE = """photo photos image images picture pictures shows showing shown view close
    closeup group type kind sort various called known named using used make made like
    photograph photographs photography photographer built stand stands located lives live
    famous goes"""
_CREDITS = """by via courtesy credit credits author authors copyright licence license licensed
    cc sa nc nd gpl lgpl mit bsd cc0 pd public domain rights reserved attribution unported
    generic version wikimedia commons wikipedia wiki flickr pixabay unsplash pexels
    publicdomainpictures http https www com org net html php jpg jpeg png webp svg"""
_SOURCES = """gcompris imagenet wallpaper wallpapers openclipart clipart debian ubuntu kde plasma
    gnome mate xfce lxde budgie backgrounds background tuxpaint stamp stamps foolbox skimage
    scikit sklearn ifct class sample samples dataset database"""
NOISE = frozenset(" ".join([_BOILERPLATE, _CREDITS, _SOURCES]).split()) | GENERIC
def _english_stop_words() -> frozenset[str]:
    """scikit-learn's English stop-word list, read from its own (import-free) module file:
    importing `sklearn.feature_extraction.text` loads all of scikit-learn (1-8 s on a busy
    2-core server), which the explorer no longer needs when its results are stored
    (core.analysis.precompute)."""
    try:
        origin = importlib.util.find_spec("sklearn").origin  # finds, does not import
        path = Path(origin).parent / "feature_extraction" / "_stop_words.py"
        spec = importlib.util.spec_from_file_location("_sklearn_stop_words", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return frozenset(module.ENGLISH_STOP_WORDS)
    except (AttributeError, ImportError, OSError, TypeError):  # another layout: the slow way
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        return ENGLISH_STOP_WORDS


STOP_WORDS = _english_stop_words() | NOISE

SHORT_TEXT = 6  # words: a title, a name or a category rather than a paragraph
LONG_WEIGHT = 0.5
PHRASE_SHARE = 0.8  # of its word's score, for a two-word name to stand for the word

_PUNCT = re.compile(r"[^\w\s'-]+")  # a phrase does not run across "(", ":" or ","
_WORD = re.compile(r"[^\W\d_]{2,}")
_URL = re.compile(r"\S*(?:https?:|www\.|://)\S*|\S+\.(?:com|org|net)\S*", re.IGNORECASE)


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def credit_words(*fields: str) -> set[str]:
    """Words of an image's attribution, source and licence fields (web addresses dropped, so a
    Wikimedia file title such as "File:Pagellus_acarne.jpg" does not remove the species)."""
    return {w for f in fields if f for w in _tokens(_URL.sub(" ", str(f)))}


Words = dict[str, float]  # an image's label words, each with its weight (1 or LONG_WEIGHT)


def label_words(texts: Sequence[str], rel_path: str = "", credits: set[str] | frozenset = (
        frozenset())) -> Words:
    """The words of one image that may name its cluster, with their weights.

    A text that only repeats the file name ("chelsea" for chelsea.jpg) counts only when the image
    has no other text: the name is the photographer's, the description the image's. Stop words,
    credit, licence and source words, and this image's own credits are left out. A word found
    only in long sentences weighs LONG_WEIGHT: a title or a category ("Giraffe", "wild animal")
    names the picture, while "lives" and "built" come from the paragraph about it.
    """
    name = path_words(rel_path.rsplit("/", 1)[-1]) if rel_path else ""
    described = [t for t in texts if t.strip() and " ".join(_tokens(t)) != name]
    words: Words = {}
    for text in described or list(texts):
        tokens = _tokens(text)
        weight = 1.0 if len(tokens) <= SHORT_TEXT else LONG_WEIGHT
        for w in tokens:
            if w not in STOP_WORDS and w not in credits:
                words[w] = max(words.get(w, 0.0), weight)
        if weight == 1.0:  # two-word names of short texts: "renewable energy", "wild animal"
            for part in _PUNCT.split(text.lower()):
                ts = _tokens(part)
                for a, b in zip(ts, ts[1:], strict=False):
                    if a != b and not {a, b} & STOP_WORDS and not {a, b} & credits:
                        words[f"{a} {b}"] = 1.0
    return words


def _singular(words: Words, vocab: set[str]) -> Words:
    """Plurals folded onto their singular when the collection uses it too (fishes -> fish)."""
    out: Words = {}
    for w, weight in words.items():
        for cut, add in (("ies", "y"), ("es", ""), ("s", "")):
            if w.endswith(cut) and len(w) > len(cut) + 2 and w[: -len(cut)] + add in vocab:
                w = w[: -len(cut)] + add
                break
        out[w] = max(out.get(w, 0.0), weight)
    return out


def _member_words(texts: Sequence[str]) -> Words:
    return label_words(list(texts))


def _doc_freqs(clusters: Sequence[Sequence[Words]]) -> list[Counter[str]]:
    """Per cluster: how many members mention each word (once per member, so one chatty caption
    cannot win), plurals folded across the whole collection."""
    vocab = {w for members in clusters for words in members for w in words}
    out = []
    for members in clusters:
        counts: Counter[str] = Counter()
        for words in members:
            counts.update(_singular(words, vocab))
        out.append(counts)
    return out


def _scored(counts: Counter[str], size: int, total: Counter[str], mean_size: float,
            top: int) -> str:
    """The `top` words by c-TF-IDF; a word one member alone mentions names no cluster of 5+
    unless no word is shared at all."""
    least = 2 if size >= 5 and max(counts.values(), default=0) >= 2 else 1
    scored = sorted((-(c / size) * math.log(1 + mean_size / total[w]), w)
                    for w, c in counts.items() if c >= least)
    return ", ".join(_with_phrases(scored, top))


def _with_phrases(scored: list[tuple[float, str]], top: int) -> list[str]:
    """The first `top` terms, where a two-word name takes a word's place when the name and its
    other word both score at least PHRASE_SHARE of the word ("energy, renewable" -> "renewable
    energy"; not "digit swan" for "swan" when every cluster says "digit"). A word already inside
    a chosen name is not repeated. Class names ("great white shark") are terms of their own."""
    score = {t: -v for v, t in scored}
    chosen: list[str] = []
    for _, term in scored:
        if len(chosen) >= top:
            break
        parts = term.split()
        if len(parts) == 2 and all(p in score for p in parts):
            continue  # a two-word name comes in through its words
        floor = PHRASE_SHARE * score[term]
        pairs = [p for p in score if len(p.split()) == 2 and term in p.split()
                 and score[p] >= floor and all(score.get(w, 0.0) >= floor for w in p.split())]
        pick = max(pairs, key=lambda p: (score[p], p)) if len(parts) == 1 and pairs else term
        if pick in chosen or any(term in c.split() for c in chosen if c != term):
            continue
        chosen.append(pick)
    return chosen


def labels_from_words(words_by_cluster: Sequence[Sequence[Words]], top: int = 3) -> list[str]:
    """A label per cluster from its members' label_words; "" where no word qualifies."""
    counts = _doc_freqs(words_by_cluster)
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    sizes = [len(members) for members in words_by_cluster]
    mean_size = sum(sizes) / max(len(sizes), 1)
    return [_scored(c, size, total, mean_size, top) if size else ""
            for c, size in zip(counts, sizes, strict=True)]


def cluster_label(
    texts_of_members: Sequence[Sequence[str]],
    top: int = 3,
    others: Sequence[Sequence[Sequence[str]]] = (),
) -> str:
    """A short label for one cluster from its members' texts, made distinctive against the
    `others`; without them it is simply the most shared words. "" when nothing is usable."""
    return cluster_labels([texts_of_members, *others], top)[0]


def cluster_labels(texts_by_cluster: Sequence[Sequence[Sequence[str]]], top: int = 3) -> list[str]:
    """cluster_label for every cluster, each made distinctive against all the others."""
    return labels_from_words([[_member_words(t) for t in members] for members in texts_by_cluster],
                             top)


@dataclass
class ClusterSummary:
    """One cluster as a page shows it: its size, its most typical images and a label."""

    cluster: int
    size: int
    nearest: list[int]  # ids (in the caller's numbering), closest to the centre first
    label: str  # "" when the members have no texts


def summarise_clusters(
    emb: np.ndarray,
    result: ClusterResult,
    texts: Sequence[Sequence[str]] | Sequence[Words],
    ids: Sequence[int] | None = None,
    m: int = 5,
) -> list[ClusterSummary]:
    """Every cluster, largest first. Rows of emb/texts are `ids` (default 0..n-1), so a cluster
    fitted on a neighbourhood still reports the collection's own image ids. A row of `texts` is
    an image's texts, or its label_words already chosen (a dict)."""
    arr = check_embeddings(emb)
    if len(texts) != arr.shape[0]:
        raise UserError(f"Got {len(texts)} text lists for {arr.shape[0]} images.")
    row_ids = np.arange(arr.shape[0]) if ids is None else np.asarray(ids, dtype=np.int64)
    words = [t if isinstance(t, dict) else _member_words(list(t)) for t in texts]
    by_cluster = [[words[r] for r in np.flatnonzero(result.labels == c)] for c in range(result.k)]
    labels = labels_from_words(by_cluster)
    out = [ClusterSummary(cluster=c, size=len(by_cluster[c]),
                          nearest=[int(row_ids[r])
                                   for r in cluster_members_near_centre(arr, result, c, m)],
                          label=labels[c])
           for c in range(result.k)]
    return sorted(out, key=lambda s: (-s.size, s.cluster))

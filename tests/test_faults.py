"""Fault injection: a rebuild stopped at every stage (crawl, hash, encode, write, commit, swap) by
SIGKILL, SIGTERM or SIGINT leaves the previous index byte-for-byte intact and answering exactly as
before; the next build cleans up after it and says so (issue: data safety)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.index.build import build_index
from core.index.store import load_index
from core.index.versions import STAGES, leftovers
from devtools.faults import SIGNALS, answers, inject

SPEC = "efficientnet:lite0"
EXIT = {"SIGKILL": -9, "SIGTERM": 143, "SIGINT": 130}


@pytest.fixture(scope="module")
def built(tmp_path_factory, photos) -> tuple[Path, Path]:
    """An index of 3 photos, and a folder that now holds 3 more (so a rebuild has work)."""
    images = tmp_path_factory.mktemp("faults") / "imgs"
    images.mkdir()
    names = ["astronaut", "chelsea", "coffee", "rocket", "china", "flower"]
    for name in names[:3]:
        photos[name].convert("RGB").resize((96, 72)).save(images / f"{name}.jpg")
    out = images.parent / "idx"
    build_index([images], SPEC, out)
    for name in names[3:]:
        photos[name].convert("RGB").resize((96, 72)).save(images / f"{name}.jpg")
    return images, out


@pytest.mark.parametrize("signal", SIGNALS)
@pytest.mark.parametrize("stage", STAGES)
def test_a_build_stopped_at_any_stage_loses_nothing(built, stage: str, signal: str) -> None:
    images, out = built
    row = inject(images, out, SPEC, stage, signal)
    assert row.exit_code == EXIT[signal], row
    assert row.survived and row.bytes_lost == 0 and not row.traceback, row
    assert load_index(out).n == 3


@pytest.mark.parametrize("stage, note", [
    ("swap", "unpublished version of a killed build"),  # renamed, never linked
    ("encode", "staging folder of a killed build"),
])
def test_the_next_build_cleans_up_and_reports(built, photos, stage: str, note: str) -> None:
    images, out = built
    extra = photos["hubble"].convert("RGB").resize((96, 72)).rotate(len(stage))
    extra.save(images / f"{stage}.jpg")  # new work, so the build reaches every stage
    n = len(list(images.glob("*.jpg")))
    inject(images, out, SPEC, stage, "SIGKILL")
    assert leftovers(out), "a killed build leaves something behind, and info lists it"
    summary = build_index([images], SPEC, out)
    assert any(note in n for n in summary.notes), summary.notes
    assert leftovers(out) == [] and summary.items == n
    assert len(answers(out)) == load_index(out).n == n

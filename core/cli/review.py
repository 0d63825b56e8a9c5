"""`python -m core review`: one query set on several indexes, metrics from marks, one report.

    python -m core review --queries core/eval/query_sets/demo-gallery.txt \\
        --indexes indexes/demo-fusion indexes/demo-conse indexes/demo-captions \\
        --marks marks.json --k 10 --out review.html --markdown review.md

The same report as the app's "Review variants" page: a self-contained HTML file (thumbnails
inlined) and, with --markdown, a summary. Without --marks every result counts as unmarked.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from core.cli.search import positive_int
from core.errors import UserError
from core.progress import log

if TYPE_CHECKING:
    from core.encoders.base import Encoder
    from core.index.catalogue import IndexEntry
    from core.index.store import Index
    from core.query.compare import Hits
    from core.query.upload import Upload


class DirectSearcher:
    """The review's Searcher for the terminal: each index's model loaded once and checked
    against the index's fingerprint (core.index.fingerprint.encoder_for), exact duplicates
    folded as in the app."""

    def __init__(self, indexes: Mapping[str, Index]) -> None:
        self.indexes = indexes
        self.ids: dict[str, dict[str, int]] = {}

    def _encoder(self, name: str) -> Encoder:
        from core.index.fingerprint import encoder_for

        return encoder_for(self.indexes[name])

    def texts(self, entry: IndexEntry, texts: list[str], k: int) -> list[Hits]:
        from core.query.duplicates import texts_collapsed

        if not texts:
            return []
        found = texts_collapsed(self._encoder(entry.name), self.indexes[entry.name], texts, k)
        return [[(h.id, h.score, list(h.duplicates)) for h in hits] for hits in found]

    def image(self, entry: IndexEntry, image_id: int, k: int) -> Hits:
        from core.query.duplicates import search_collapsed
        from core.query.search import Query

        found = search_collapsed(None, self.indexes[entry.name], Query.image_id(image_id), k)
        return [(h.id, h.score, list(h.duplicates)) for h in found]

    def upload(self, entry: IndexEntry, up: Upload, k: int) -> Hits:
        from core.query.duplicates import search_collapsed
        from core.query.search import Query

        found = search_collapsed(self._encoder(entry.name), self.indexes[entry.name],
                                 Query(images=[(up.image, 1.0)]), k)
        return [(h.id, h.score, list(h.duplicates)) for h in found]

    def hash_to_id(self, entry: IndexEntry) -> dict[str, int]:
        if entry.name not in self.ids:
            hashes = self.indexes[entry.name].items["hash"]
            self.ids[entry.name] = {h: i for i, h in reversed(list(enumerate(hashes)))}
        return self.ids[entry.name]


def index_entry(value: str) -> IndexEntry:
    """An index folder given as a path, or as a name under the indexes folder."""
    from core.index.catalogue import read_entry
    from core.paths import indexes_dir

    path = Path(value)
    if not path.is_dir() and (indexes_dir() / value).is_dir():
        path = indexes_dir() / value
    entry = read_entry(path)
    if entry is None:
        raise UserError(f"{value}: not an index folder (no readable manifest.json)")
    return entry


def build_report(queries: str, indexes: list[str], marks: str | None, k: int,
                 resamples: int = 1000) -> tuple[str, str, int]:
    """(HTML, Markdown, unmarked results) of a review; the CLI test calls this too."""
    from core.eval import query_set
    from core.eval.review import MAX_VARIANTS, run_review, summarise
    from core.eval.review_marks import read_marks
    from core.eval.review_report import html_report, markdown_summary, thumbnails
    from core.index.store import load_index
    from core.query.overlap import coverage

    if not 1 <= len(indexes) <= MAX_VARIANTS:
        raise UserError(f"--indexes takes 1 to {MAX_VARIANTS} index folders")
    entries = [index_entry(v) for v in indexes]
    if len({e.name for e in entries}) < len(entries):
        raise UserError("two --indexes have the same folder name; a review names variants by it")
    loaded = {e.name: load_index(e.path) for e in entries}
    same, common = coverage({n: set(ix.items["hash"]) for n, ix in loaded.items()})
    if not same:
        log(f"warning: the indexes do not cover the same images ({common} in common)")
    saved = {}
    if marks:
        try:
            saved = read_marks(Path(marks).read_bytes())
        except OSError as e:
            raise UserError(f"{marks}: cannot read the marks file ({e.strerror})") from e
    first = loaded[entries[0].name]
    resolved = query_set.resolve(query_set.read_file(queries), first, base=Path(queries).parent)
    log(f"{len(resolved)} queries × {len(entries)} indexes, top {k}")
    review = run_review([(e, loaded[e.name]) for e in entries], resolved, k,
                        DirectSearcher(loaded))
    summary = summarise(review, saved, resamples)
    specs = {e.name: e.spec for e in entries}
    page = html_report(review, summary, saved, thumbnails(review, loaded), specs)
    return page, markdown_summary(review, summary, specs), sum(r.unmarked for r in summary.rows)


def cmd_review(args: argparse.Namespace) -> int:
    from core.atomic import write_text

    page, markdown, unmarked = build_report(args.queries, args.indexes, args.marks, args.k,
                                            args.bootstrap)
    write_text(Path(args.out), page)
    print(f"wrote {args.out} ({len(page.encode()) >> 10} KB)")
    if args.markdown:
        write_text(Path(args.markdown), markdown)
        print(f"wrote {args.markdown}")
    if unmarked:
        print(f"{unmarked} results are unmarked: mark them in the app (Review variants) and "
              "pass the downloaded file with --marks")
    return 0


def register(sub) -> None:
    r = sub.add_parser("review", help="a query set on several indexes: metrics from relevance "
                                      "marks and a self-contained HTML report",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("--queries", required=True, metavar="FILE",
                   help=".txt (one query per line) or .jsonl ({\"text\": …} / {\"image_id\": N})")
    r.add_argument("--indexes", required=True, nargs="+", metavar="DIR",
                   help="index folders (or names under the indexes folder); the first one "
                        "resolves image ids")
    r.add_argument("--marks", metavar="JSON", help="a marks file downloaded from the app")
    r.add_argument("--k", "-k", type=positive_int, default=10)
    r.add_argument("--out", required=True, metavar="HTML")
    r.add_argument("--markdown", metavar="MD", help="also write a Markdown summary")
    r.add_argument("--bootstrap", type=positive_int, default=1000,
                   help="resamples for the paired intervals")
    r.set_defaults(func=cmd_review)

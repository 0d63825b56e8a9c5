"""The README's screenshots: Text search, Image neighbours and the Cluster explorer, at 1280×800.

    .venv/bin/python -m devtools.screenshots [--work /tmp/image-search-shots] [--out DIR]

Only the photos bundled with scikit-image and scikit-learn are shown (public domain, CC0 and
CC-BY-2.0 per data/MANIFEST.csv, so the pictures may be committed): they are assembled into
`--work`, indexed there with the demo's default model (hybrid: texts + ConSE pixels), the app is
started on that index alone, and each page is saved as a palette PNG (a few hundred KB).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from devtools.layout import DESKTOP, settle
from devtools.live import browser, streamlit_server

REPO = Path(__file__).resolve().parents[1]
SPEC = "hybrid:conse:lite0,prompt=definition,view=multi"  # as demo-hybrid (core/cli/demo.py)
NAME = "photos"
# file name -> (link, tab to open or "", the element the 1280×800 picture starts at); the
# chelsea photo is looked up by name, since ids follow the scan order
SHOTS = {"text-search.png": ("text_search?q=a+cat&k=8", "", "h1"),
         "neighbours.png": ("neighbours?id={chelsea}&k=8", "", "h1"),
         "explorer.png": ("explorer?k=4", "Clusters", '[data-testid="stMetric"]')}
TALL = {"width": DESKTOP["width"], "height": 2000}  # laid out tall, then cut to 1280×800


def build(work: Path) -> Path:
    """The bundled photos and their index under `work`; returns the folder the app scans."""
    from core.demo.assemble import assemble
    from core.index.build import build_index

    data = work / "data"
    if not (data / "gallery" / "captions.jsonl").is_file():
        assemble(data, sources=["skimage", "sklearn"])
    root = work / "indexes"
    build_index([data / "gallery"], SPEC, root / NAME)  # incremental: a rerun reuses it
    return root


def optimise(path: Path) -> None:
    """256 colours, dithered: a 1280×800 screenshot of photos drops from ~1.5 MB to ~0.4 MB."""
    from PIL import Image

    with Image.open(path) as img:
        small = img.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT,
                                            dither=Image.Dither.FLOYDSTEINBERG)
    small.save(path, optimize=True)


def shoot(root: Path, out: Path, log: Path) -> list[Path]:
    from core.index.store import load_index

    items = load_index(root / NAME).items
    chelsea = int(items.index[items["rel_path"].str.endswith("chelsea.jpg")][0])
    out.mkdir(parents=True, exist_ok=True)
    saved = []
    with streamlit_server(root, log) as srv, browser() as b:
        page = b.new_page(viewport=TALL)
        for file, (link, tab, anchor) in SHOTS.items():
            page.goto(f"{srv.url}/{link.format(chelsea=chelsea)}", wait_until="domcontentloaded")
            settle(page)
            if tab:
                page.get_by_role("tab", name=tab).click()
                settle(page)
            page.mouse.move(0, 0)  # no hover state in the picture
            box = page.locator(anchor).first.bounding_box() or {"y": 0}
            top = max(0, int(box["y"]) - 24)
            path = out / file
            page.screenshot(path=str(path), clip={"x": 0, "y": top, **DESKTOP})
            optimise(path)
            saved.append(path)
    return saved


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/image-search-shots"))
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args(argv)
    root = build(args.work)
    for path in shoot(root, args.out, args.work / "streamlit.log"):
        print(f"{path}  {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()

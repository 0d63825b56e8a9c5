"""Text in images (`build --ocr`): RapidOCR reads a rendered sign on a real photo, the build
stores it, captions and hybrid indexes find the photo by the word, incremental builds do not
read an image twice, a build without --ocr reads nothing, and the detail view shows the text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from streamlit.testing.v1 import AppTest

from core.errors import UserError
from core.index.build import build_index
from core.index.catalogue import ENV_INDEXES
from core.index.fingerprint import encoder_for
from core.index.info import describe_index
from core.index.store import load_index
from core.ingest.ocr import Reader, is_words, kept_lines
from core.query.search import Query, search
from tests.conftest import write_photo_folder

pytest.importorskip("rapidocr_onnxruntime")  # a build requirement (requirements-build.txt)

REPO = Path(__file__).resolve().parents[1]
SIGN = "IMG_0042.jpg"  # a camera name: no words, no sidecar text, so only OCR can name it
HYBRID = "hybrid:conse:lite0"
FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
         "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf")


def font(size: int) -> ImageFont.FreeTypeFont:
    """A real TrueType font: DejaVu or Liberation from Debian, else the one inside Pillow."""
    for path in FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def sign_photo(photo: Image.Image, word: str = "BAKERY") -> Image.Image:
    """A real photo with a shop sign painted across it."""
    img = photo.convert("RGB").resize((600, 400))
    draw = ImageDraw.Draw(img)
    draw.rectangle((90, 130, 510, 250), fill=(250, 244, 228), outline=(60, 40, 20), width=6)
    draw.text((300, 190), word, font=font(76), fill=(30, 20, 10), anchor="mm")
    return img


@pytest.fixture(scope="module")
def folder(tmp_path_factory, photos) -> Path:
    root = write_photo_folder(tmp_path_factory.mktemp("ocr") / "photos",
                              {k: photos[k] for k in ("chelsea", "rocket")})
    sign_photo(photos["coffee"]).save(root / SIGN, quality=92)
    return root


class Phases:
    """A real progress callback that remembers which phases a build reported."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[int, int]] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        self.seen[phase] = (done, total)


@pytest.fixture(scope="module")
def hybrid(folder: Path, tmp_path_factory) -> dict:
    """One hybrid index built first without OCR, then refreshed with it."""
    out = tmp_path_factory.mktemp("ocr-indexes") / "signs"
    off_phases, on_phases = Phases(), Phases()
    off = build_index([folder], HYBRID, out, progress=off_phases)
    off_index = load_index(out)
    on = build_index([folder], HYBRID, out, progress=on_phases, ocr=True)
    return {"out": out, "off": off, "off_index": off_index, "off_phases": off_phases,
            "on": on, "on_phases": on_phases}


def rel_paths(index, hits) -> list[str]:
    return [index.items.at[h.id, "rel_path"] for h in hits]


def test_reader_reads_the_sign(photos) -> None:
    assert "BAKERY" in Reader()(sign_photo(photos["coffee"]))


def test_kept_lines_drop_unsure_and_non_words() -> None:
    box = [[0, 0], [1, 0], [1, 1], [0, 1]]
    results = [[box, "OPEN  DAILY", 0.97], [box, "BAKERY", 0.5], [box, "|||", 0.99],
               [box, "12:30", 0.99], [box, "x", 0.99], [box, "OPEN DAILY", 0.95],
               [box, "Café 1900", 0.9]]
    assert kept_lines(results) == ["OPEN DAILY", "Café 1900"]
    assert kept_lines(None) == []
    assert is_words("No 5 bus") and not is_words("A4") and not is_words("2024-01-05")


def test_a_build_without_ocr_reads_nothing(hybrid) -> None:
    index = hybrid["off_index"]
    assert hybrid["off"].ocr is None and "ocr" not in hybrid["off_phases"].seen
    assert index.manifest["ocr"] is None
    assert set(index.items["ocr_text"]) == {""}
    assert "text in images (OCR): off" in describe_index(index)


def test_a_build_with_ocr_stores_the_text_and_hybrid_finds_it(hybrid) -> None:
    summary, index = hybrid["on"], load_index(hybrid["out"])
    assert hybrid["on_phases"].seen["ocr"] == (3, 3)  # progress counts the OCR pass
    assert summary.ocr.read == 3 and summary.ocr.reused == 0
    texts = dict(zip(index.items["rel_path"], index.items["ocr_text"], strict=True))
    assert "BAKERY" in texts[SIGN]
    assert texts["chelsea.jpg"] == ""  # a cat photo shows no words
    # only images whose text changed were encoded again: the item key follows the OCR text
    assert summary.reused == sum(1 for t in texts.values() if not t)
    assert index.manifest["ocr"]["images_with_text"] == summary.ocr.with_text >= 1
    assert any(line.startswith("text in images (OCR): on") for line in describe_index(index))
    hits = search(encoder_for(index), index, Query.text("bakery"), k=3)
    assert rel_paths(index, hits)[0] == SIGN
    before = hybrid["off_index"]
    hits = search(encoder_for(before), before, Query.text("bakery"), k=3)
    assert hits[0].score < search(encoder_for(index), index, Query.text("bakery"), k=1)[0].score


def test_an_incremental_build_does_not_read_an_image_again(hybrid, folder: Path) -> None:
    again = build_index([folder], HYBRID, hybrid["out"], ocr=True)
    assert again.ocr.read == 0 and again.ocr.reused == 3 and again.reused == 3
    index = load_index(hybrid["out"])
    assert "BAKERY" in index.items.set_index("rel_path").at[SIGN, "ocr_text"]


def test_a_captions_index_with_ocr_finds_an_image_that_has_no_description(folder, tmp_path):
    plain = build_index([folder], "captions:minilm", tmp_path / "plain")
    assert plain.items == 2  # the sign has no description: skipped
    out = tmp_path / "read"
    first = build_index([folder], "captions:minilm", out, ocr=True)
    index = load_index(out)
    assert first.items == 3
    hits = search(encoder_for(index), index, Query.text("bakery"), k=3)
    assert rel_paths(index, hits)[0] == SIGN
    again = build_index([folder], "captions:minilm", out, ocr=True)
    assert again.ocr.read == 0  # images without any text were recorded as read too


def test_ocr_without_rapidocr_is_one_line(folder: Path, tmp_path: Path) -> None:
    script = ("import sys; sys.modules['rapidocr_onnxruntime'] = None\n"
              "from core.cli import main\n"
              f"sys.exit(main(['build', '--images', {str(folder)!r}, '--model', "
              f"'efficientnet:lite0', '--out', {str(tmp_path / 'x')!r}, '--ocr']))")
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "--ocr needs rapidocr-onnxruntime" in lines[0] and "pip install" in lines[0]
    assert not (tmp_path / "x").exists()  # refused before any work


def test_require_ocr_raises_user_error(monkeypatch, folder: Path, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)
    with pytest.raises(UserError, match="rapidocr-onnxruntime"):
        build_index([folder], "captions:minilm", tmp_path / "y", ocr=True)


@pytest.mark.usefixtures("warm_server")
def test_the_detail_view_shows_the_text_in_the_image(hybrid, monkeypatch, tmp_path) -> None:
    root = tmp_path / "indexes"
    root.mkdir()
    (root / "signs").symlink_to(hybrid["out"], target_is_directory=True)
    monkeypatch.setenv(ENV_INDEXES, str(root))
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=300)
    at.query_params.update({"q": "bakery", "k": "3"})
    at = at.switch_page("pages/text_search.py").run()
    assert not at.exception, [e.value for e in at.exception]
    index = load_index(hybrid["out"])
    sign_id = int(index.items.index[index.items["rel_path"] == SIGN][0])
    at = at.button(key=f"text.results.0.{sign_id}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(m.value == "**Text in the image**" for m in at.markdown)
    assert any("BAKERY" in t.value for t in at.text)

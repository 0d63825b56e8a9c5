"""Uploads are bounded in decoded bytes and decoded once into a small RGB image (issue: data
safety, bounded work per visitor)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.uploads import TARGET_MB, make, measure
from core.ingest.images import ImageProblem, decoded_bytes
from core.query.upload import MAX_DECODED_MB, UPLOAD_SIDE, decode_upload


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def test_decoded_bytes_count_what_pillow_holds() -> None:
    assert decoded_bytes("I;16", (100, 10)) == 2000
    assert decoded_bytes("RGBA", (100, 10)) == decoded_bytes("RGB", (100, 10)) == 4000
    assert decoded_bytes("L", (100, 10)) == decoded_bytes("P", (100, 10)) == 1000


def test_a_tiny_png_with_too_many_bytes_of_pixels_is_refused_before_decoding() -> None:
    data = _png(Image.new("RGBA", (7000, 5000), (10, 200, 30, 128)))  # 35 MP, a few KB
    assert len(data) < 1_000_000  # well under the 20 MB upload limit
    with pytest.raises(ImageProblem, match=r"too large to decode: 140 MB of pixels; the limit "
                                           rf"is {MAX_DECODED_MB} MB"):
        decode_upload(data)


def test_a_normal_photo_upload_gives_one_image_for_preview_and_query(photos) -> None:
    buf = io.BytesIO()
    photos["coffee"].convert("RGB").save(buf, "JPEG", quality=92)
    up = decode_upload(buf.getvalue())
    assert up.image.mode == "RGB" and up.image.size == up.size == photos["coffee"].size
    diff = np.abs(np.asarray(up.image, np.int16) - np.asarray(photos["coffee"].convert("RGB")))
    assert diff.mean() < 4  # the photo itself, not a blank or a thumbnail
    preview = Image.open(io.BytesIO(up.preview))
    assert preview.format == "JPEG" and max(preview.size) <= 512
    assert decode_upload(buf.getvalue()).digest == up.digest


def test_big_uploads_come_back_small_with_their_content(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 65535, 3000).astype(np.uint16), (2000, 1))  # dark to bright
    up = decode_upload(_png(Image.fromarray(ramp)))
    arr = np.asarray(up.image)
    assert up.size == (3000, 2000) and max(up.image.size) == UPLOAD_SIDE
    assert arr[:, 5].mean() < 10 and arr[:, -5].mean() > 245
    rgba = Image.new("RGBA", (4000, 3000), (255, 0, 0, 255))
    rgba.paste((0, 0, 255, 0), (2000, 0, 4000, 3000))  # right half: blue but fully transparent
    up = decode_upload(_png(rgba))
    arr = np.asarray(up.image).astype(int)
    assert up.image.size == (1024, 768)
    assert tuple(arr[300, 100]) == (255, 0, 0) and tuple(arr[300, 900]) == (255, 255, 255)


def test_a_40_mp_16_bit_png_upload_adds_at_most_200_mb(tmp_path: Path) -> None:
    """The reported case: ~916 MiB decoding a 40 MP 16-bit PNG of a few hundred KB."""
    got = measure(make("png16-40mp", tmp_path))
    assert got["outcome"].startswith(("accepted", "refused: too large")), got
    assert got["added_mb"] <= TARGET_MB, got


def test_an_iphone_heic_upload_is_decoded(photos) -> None:
    """HEIC, the iPhone default, decodes from bytes through pillow-heif (registered at import)."""
    import io

    from core.query.upload import decode_upload

    buf = io.BytesIO()
    photos["chelsea"].convert("RGB").resize((320, 240)).save(buf, format="HEIF")
    upload = decode_upload(buf.getvalue())
    assert upload.image.size == (320, 240) and upload.image.mode == "RGB"

"""Tests for core.ingest.images: odd images become plain RGB, every bad file a reason."""

from __future__ import annotations

import gc
import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.ingest.images import (
    ImageProblem,
    fit_square,
    make_thumbnail,
    open_image,
    pad_to_square,
    save_jpeg,
    to_rgb,
)


def _jpeg_bytes(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", **kw)
    return buf.getvalue()


def test_palette_transparency_is_composited_on_white(tmp_path: Path) -> None:
    pal = Image.new("P", (4, 4), 0)
    pal.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)  # 0 = red, 1 = green (transparent)
    pal.putpixel((0, 0), 1)
    pal.info["transparency"] = 1
    pal.save(tmp_path / "p.png")
    with Image.open(tmp_path / "p.png") as src:
        assert src.mode == "P" and "transparency" in src.info
        rgb = to_rgb(src)
    arr = np.asarray(rgb)
    assert rgb.mode == "RGB" and rgb.size == (4, 4)
    assert tuple(arr[0, 0]) == (255, 255, 255)  # the transparent pixel became white
    assert tuple(arr[1, 1]) == (255, 0, 0)


def test_alpha_is_composited_on_white() -> None:
    rgba = Image.new("RGBA", (2, 1), (0, 0, 255, 255))
    rgba.putpixel((1, 0), (0, 0, 0, 0))
    la = Image.new("LA", (1, 1), (0, 128))
    assert [tuple(p) for p in np.asarray(to_rgb(rgba))[0]] == [(0, 0, 255), (255, 255, 255)]
    half = np.asarray(to_rgb(la))[0, 0]
    assert 120 <= half[0] <= 135 and half[0] == half[1] == half[2]  # black at 50% over white


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(tmp_path / "c.jpg")  # pure red ink
    with Image.open(tmp_path / "c.jpg") as src:
        assert src.mode == "CMYK"
        rgb = to_rgb(src)
    r, g, b = np.asarray(rgb)[8, 8].astype(int)
    assert rgb.mode == "RGB" and r > 230 and g < 25 and b < 25
    img, size = open_image(tmp_path / "c.jpg", draft=4)  # the fast draft path too
    assert img.mode == "RGB" and size == (16, 16) and np.asarray(img)[:, :, 0].min() > 230


def test_sixteen_bit_png_keeps_relative_brightness(tmp_path: Path) -> None:
    levels = np.array([0, 4096, 16384, 32768, 65535], np.uint16)
    Image.fromarray(np.repeat(levels[None, :], 3, axis=0)).save(tmp_path / "g16.png")
    with Image.open(tmp_path / "g16.png") as src:
        assert src.mode.startswith("I")
        rgb = to_rgb(src)
    row = np.asarray(rgb)[1, :, 0].astype(int)
    np.testing.assert_allclose(row, levels / 65535 * 255, atol=1)
    assert list(row) == sorted(row) and row[-1] == 255
    # a dark 16-bit image stays dark (it is not stretched to full range)
    dark = Image.fromarray(np.full((2, 2), 200, np.uint16))
    assert np.asarray(to_rgb(dark)).max() <= 1


def test_exif_orientation_is_applied_and_reported(tmp_path: Path) -> None:
    img = Image.new("RGB", (60, 20), (255, 0, 0))
    img.paste((0, 0, 255), (0, 0, 10, 20))  # left edge blue
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    img.save(tmp_path / "o6.jpg", exif=exif.tobytes(), quality=95)
    with Image.open(tmp_path / "o6.jpg") as src:
        assert src.size == (60, 20)
        rgb = to_rgb(src)
    assert rgb.size == (20, 60)
    arr = np.asarray(rgb).astype(int)
    assert arr[0, 10, 2] > 200 and arr[0, 10, 0] < 60  # the left edge is now the top
    assert arr[-1, 10, 0] > 200 and arr[-1, 10, 2] < 60
    opened, size = open_image(tmp_path / "o6.jpg")
    assert opened.size == (20, 60) and size == (20, 60)  # size as displayed


def test_animated_gif_gives_its_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:], duration=50)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        img, size = open_image(tmp_path / "a.gif")
        gc.collect()
    r, g, b = np.asarray(img)[4, 4].astype(int)
    assert size == (8, 8) and r > 200 and b < 60
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]  # file closed


def test_open_image_reads_bytes_and_draft_keeps_the_original_size() -> None:
    from skimage import data

    photo = Image.fromarray(data.astronaut())  # 512 x 512
    raw = _jpeg_bytes(photo, quality=90)
    img, size = open_image(raw)
    assert img.size == (512, 512) and size == (512, 512)
    small, size = open_image(raw, draft=100)
    assert size == (512, 512) and 100 <= small.size[0] < 512


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "empty file"),
        (b"this is text, not a JPEG\n", "not an image"),
        ("truncated", "corrupt or truncated"),
    ],
)
def test_bad_files_become_problems_with_reasons(tmp_path: Path, payload, reason: str) -> None:
    if payload == "truncated":
        from skimage import data

        whole = _jpeg_bytes(Image.fromarray(data.chelsea()), quality=90)
        payload = whole[: len(whole) // 2]
    path = tmp_path / "bad.jpg"
    path.write_bytes(payload)
    with pytest.raises(ImageProblem, match=reason):
        open_image(path)
    with pytest.raises(ImageProblem, match=reason):
        open_image(payload)


def test_missing_file_and_pixel_limit(tmp_path: Path) -> None:
    with pytest.raises(ImageProblem, match="unreadable"):
        open_image(tmp_path / "nope.jpg")
    Image.new("RGB", (40, 30)).save(tmp_path / "x.png")
    with pytest.raises(ImageProblem, match="too many pixels"):
        open_image(tmp_path / "x.png", max_pixels=1000)


def test_pad_thumbnail_and_save(tmp_path: Path) -> None:
    tall = Image.new("RGB", (30, 90), (0, 0, 0))
    square = pad_to_square(tall)
    assert square.size == (90, 90)
    arr = np.asarray(square)
    assert tuple(arr[45, 0]) == (255, 255, 255) and tuple(arr[45, 45]) == (0, 0, 0)
    assert pad_to_square(square) is square
    thumb = make_thumbnail(Image.new("RGB", (1000, 500)), 256)
    assert thumb.size == (256, 128)
    save_jpeg(thumb, tmp_path / "t.jpg")
    with Image.open(tmp_path / "t.jpg") as back:
        assert back.format == "JPEG" and back.size == (256, 128)


def test_fit_square_matches_pad_then_resize(photos) -> None:
    for name in ("astronaut", "motorcycle", "china"):  # square, wide, wide
        img = photos[name].convert("RGB")
        for im in (img, img.transpose(Image.Transpose.ROTATE_90)):  # and tall
            fast = np.asarray(fit_square(im, 224), np.float32)
            slow = np.asarray(pad_to_square(im).resize((224, 224), Image.Resampling.BICUBIC),
                              np.float32)
            assert fast.shape == (224, 224, 3)
            assert np.abs(fast - slow).mean() < 6.0  # of 255: a sub-pixel shift at most
    thin = fit_square(Image.new("RGB", (1, 300), (0, 0, 0)), 64)
    arr = np.asarray(thin)
    assert thin.size == (64, 64) and tuple(arr[32, 0]) == (255, 255, 255)
    assert tuple(arr[32, 32]) == (0, 0, 0)


def test_to_rgb_composites_on_the_given_background() -> None:
    clear = Image.new("RGBA", (2, 1), (255, 0, 0, 0))
    clear.putpixel((1, 0), (0, 255, 0, 255))
    assert [tuple(p) for p in np.asarray(to_rgb(clear, (0, 0, 0)))[0]] == [(0, 0, 0), (0, 255, 0)]
    assert tuple(np.asarray(to_rgb(clear))[0, 0]) == (255, 255, 255)  # white by default
    # a grey image whose value 0 is marked transparent (PNG tRNS) composites too
    grey = Image.new("L", (2, 1), 0)
    grey.putpixel((1, 0), 128)
    grey.info["transparency"] = 0
    assert [tuple(p) for p in np.asarray(to_rgb(grey, (9, 9, 9)))[0]] == [(9, 9, 9), (128,) * 3]

"""Training curves drawn with Pillow (no plotting library needed): loss and validation R@sum.

The same per-epoch history lives in the model's config.json, so the app draws its own chart;
this PNG is for people looking at the model folder.
"""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

PANEL_W, PANEL_H, PAD = 440, 310, 60
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]


def _nice_range(values: Sequence[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        lo, hi = lo - 1.0, hi + 1.0
    span = hi - lo
    low = lo - 0.05 * span
    return (max(0.0, low) if lo >= 0 else low), hi + 0.05 * span


def _panel(draw: ImageDraw.ImageDraw, x0: int, title: str, series: dict[str, list[float]],
           epochs: list[int], best_epoch: int, font: ImageFont.ImageFont) -> None:
    """One line chart in the box starting at x0; the best epoch is a dashed vertical line."""
    left, top = x0 + PAD, PAD // 2 + 14
    right, bottom = x0 + PANEL_W - 12, PANEL_H - PAD
    draw.text((left, 6), title, fill="black", font=font)
    draw.rectangle([left, top, right, bottom], outline="#888888")
    values = [v for vs in series.values() for v in vs]
    if not values or not epochs:
        return
    lo, hi = _nice_range(values)
    e_lo, e_hi = min(epochs), max(epochs)

    def xy(e: float, v: float) -> tuple[float, float]:
        fx = 0.5 if e_hi == e_lo else (e - e_lo) / (e_hi - e_lo)
        return left + fx * (right - left), bottom - (v - lo) / (hi - lo) * (bottom - top)

    for frac in (0.0, 0.5, 1.0):
        v = lo + frac * (hi - lo)
        y = xy(e_lo, v)[1]
        draw.line([left - 4, y, left, y], fill="#888888")
        draw.text((x0 + 2, y - 6), f"{v:.3g}", fill="#444444", font=font)
    for e in epochs:
        x = xy(e, lo)[0]
        draw.line([x, bottom, x, bottom + 4], fill="#888888")
        if len(epochs) <= 20 or e % 5 == 0:
            draw.text((x - 4, bottom + 6), str(e), fill="#444444", font=font)
    draw.text(((left + right) // 2 - 15, bottom + 20), "epoch", fill="#444444", font=font)
    if best_epoch in epochs:
        x = xy(best_epoch, lo)[0]
        for y in range(top, bottom, 8):
            draw.line([x, y, x, min(y + 4, bottom)], fill="#999999")
    legend_x = left
    for i, (name, vs) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        points = [xy(e, v) for e, v in zip(epochs, vs, strict=True)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for px, py in points:
            draw.ellipse([px - 2.5, py - 2.5, px + 2.5, py + 2.5], fill=colour)
        draw.rectangle([legend_x, bottom + 40, legend_x + 10, bottom + 46], fill=colour)
        draw.text((legend_x + 14, bottom + 36), name, fill="#333333", font=font)
        legend_x += 24 + int(draw.textlength(name, font=font))


def draw_curves(history: Sequence[dict], best_epoch: int = 0) -> Image.Image:
    """Two panels: mean training loss, and validation R@sum per set plus their mean."""
    font = ImageFont.load_default()
    img = Image.new("RGB", (2 * PANEL_W, PANEL_H), "white")
    draw = ImageDraw.Draw(img)
    epochs = [int(h["epoch"]) for h in history]
    _panel(draw, 0, "training loss (mean per batch)",
           {"train": [float(h["train_loss"]) for h in history]}, epochs, best_epoch, font)
    val: dict[str, list[float]] = {"mean": [float(h["val_rsum"]) for h in history]}
    names = list(history[0].get("val", {})) if history else []
    if len(names) > 1:
        for name in names:
            val[name] = [float(h["val"][name]["rsum"]) for h in history]
    _panel(draw, PANEL_W, f"validation R@sum (best epoch {best_epoch})", val, epochs,
           best_epoch, font)
    return img

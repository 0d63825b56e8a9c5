"""Keyboard navigation in thumbnail grids: Streamlit has no keyboard API, so a small script.

Every grid's tiles sit in a container keyed `tiles-<grid key>-<n>-<first id>` (its CSS class is
`st-key-tiles-…`), and each tile has a real <button>, so Tab and Enter already work. The script
adds, on a focused tile: → / l / j next tile, ← / h / k previous, ↑ / ↓ the tile above or below
(by the tiles' columns, so it follows the layout at any width, stacked included), Home / End the
first and last; `j` anywhere outside a text box jumps to the first tile. Enter opens the tile's
action (its button) as before. One listener per browser page, whichever grid rendered it.
"""

from __future__ import annotations

import re

import streamlit as st

PREFIX = "tiles-"

_SCRIPT = """
<style>
  [class*="st-key-tiles-"] button:focus-visible {
    outline: 3px solid #ff4b4b; outline-offset: 2px; border-radius: 4px; }
</style>
<script>
(() => {
  const doc = window.parent.document;
  if (doc.__tileKeys) return;
  doc.__tileKeys = true;
  const TILE = '[class*="st-key-tiles-"] .stButton button';
  const group = (el) => {
    const box = el.closest('[class*="st-key-tiles-"]');
    const m = box && box.className.match(/st-key-(tiles-\\S*?)-\\d+-\\d+(\\s|$)/);
    return m ? m[1] : '';
  };
  const shown = (el) => el.getClientRects().length > 0 &&
    getComputedStyle(el).visibility !== 'hidden';  // a button with help has an unrendered twin
  const tiles = () => [...doc.querySelectorAll(TILE)].filter(shown);
  const typing = (el) => el && (el.isContentEditable ||
    ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
  const centre = (el) => {  // the tile's column: one row shares a top whatever its captions
    const r = (el.closest('[data-testid="stColumn"]') || el).getBoundingClientRect();
    return {x: r.left + r.width / 2, y: r.top}; };
  const vertical = (tiles, from, down) => {
    const c = centre(from);
    let best = null, score = Infinity;
    for (const t of tiles) {
      const p = centre(t), dy = down ? p.y - c.y : c.y - p.y;
      if (t === from || dy < 8) continue;
      const s = dy * 4 + Math.abs(p.x - c.x);
      if (s < score) { score = s; best = t; }
    }
    return best;
  };
  doc.addEventListener('keydown', (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const here = doc.activeElement;
    if (!(here && here.matches && here.matches(TILE))) {
      if (e.key === 'j' && !typing(here) && !doc.querySelector('[role="dialog"]')) {
        const first = tiles()[0];
        if (first) { first.focus(); first.scrollIntoView({block: 'nearest'}); e.preventDefault(); }
      }
      return;
    }
    const name = group(here);
    const same = tiles().filter((t) => group(t) === name);
    const at = same.indexOf(here);
    let next = null;
    if (['ArrowRight', 'j', 'l'].includes(e.key)) next = same[at + 1];
    else if (['ArrowLeft', 'k', 'h'].includes(e.key)) next = same[at - 1];
    else if (e.key === 'ArrowDown') next = vertical(same, here, true);
    else if (e.key === 'ArrowUp') next = vertical(same, here, false);
    else if (e.key === 'Home') next = same[0];
    else if (e.key === 'End') next = same[same.length - 1];
    else return;
    e.preventDefault();
    if (next) { next.focus(); next.scrollIntoView({block: 'nearest'}); }
  }, true);
})();
</script>
"""


def tiles_key(grid_key: str, ids: list[int]) -> str:
    """The container key of one grid block: unique per page as long as its button keys are."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "-", grid_key)
    return f"{PREFIX}{safe}-{len(ids)}-{ids[0] if ids else 0}"


def enable() -> None:
    """Add the keyboard script (idempotent in the browser: one listener however often it runs)."""
    st.html(_SCRIPT, unsafe_allow_javascript=True)

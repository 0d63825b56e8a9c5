"""What a page looks like in the browser: wait for a Streamlit page to settle, and measure what
sticks out of its column or the screen. Used by the layout browser test and the screenshot
script, so both see a page exactly as a visitor does. Imports no Streamlit."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# Every visible element of the main block whose right edge passes the right edge of the column it
# sits in (or of the main block, or of the screen) by more than 1 px, plus how much wider than
# the screen the document (or Streamlit's scrolling main area) is. An element inside a
# horizontal scroller is measured against the scroller (a wide table that scrolls is usable;
# the scroller itself must fit its column); text or marks a chart's svg cuts off (a legend
# wider than the chart) count too.
OVERFLOW_JS = """() => {
  const main = document.querySelector('[data-testid="stMainBlockContainer"]');
  const vw = document.documentElement.clientWidth;
  const out = [];
  if (!main) return {page: 0, items: [{what: 'no main block', by: 0}]};
  const name = el => {
    const id = el.closest('[data-testid]');
    const key = el.closest('[class*="st-key-"]');
    return (id ? id.dataset.testid : el.tagName) +
      (key ? ' ' + [...key.classList].find(c => c.startsWith('st-key-')) : '');
  };
  const MEDIA = new Set(['IMG', 'SVG', 'CANVAS', 'VIDEO', 'INPUT', 'TEXTAREA', 'BUTTON',
                         'SELECT', 'IFRAME', 'svg']);
  // something a visitor sees: text, a picture or a control, a filled or bordered box (an empty
  // layout box or an invisible resize handle that sticks out is not an overflow)
  const painted = (el, cs) => MEDIA.has(el.tagName)
    || [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())
    || (cs.backgroundColor !== 'rgba(0, 0, 0, 0)' && cs.backgroundColor !== 'transparent')
    || cs.backgroundImage !== 'none' || parseFloat(cs.borderRightWidth) > 0;
  for (const el of main.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) continue;
    const cs = getComputedStyle(el);
    if (cs.visibility === 'hidden' || cs.position === 'fixed' || cs.opacity === '0') continue;
    if (!painted(el, cs)) continue;
    const shut = el.closest('details:not([open])');
    if (shut && !el.closest('summary')) continue;
    let box = main, c = el.parentElement, scrolled = false, right = r.right;
    while (c && c !== main) {
      const s = getComputedStyle(c);
      if (s.overflowX === 'auto' || s.overflowX === 'scroll') { scrolled = true; break; }
      if (c.tagName.toLowerCase() === 'svg') {  // a chart cuts off what it cannot fit
        const cut = Math.round(right - c.getBoundingClientRect().right);
        if (cut > 1) out.push({what: name(el) + ' <' + el.tagName.toLowerCase() + '> cut off',
                               by: cut});
      }
      if (s.overflowX === 'hidden' || s.overflowX === 'clip') {
        right = Math.min(right, c.getBoundingClientRect().right);  // hidden beyond this box
      }
      if (c.dataset.testid === 'stColumn') { box = c; break; }
      c = c.parentElement;
    }
    const limit = Math.min(box.getBoundingClientRect().right, vw);
    const by = Math.round(right - limit);
    if (by > 1 && !scrolled) out.push({what: name(el) + ' <' + el.tagName.toLowerCase() + '>',
                                       by});
  }
  const seen = new Map();
  for (const o of out) seen.set(o.what, Math.max(seen.get(o.what) || 0, o.by));
  const scroller = document.querySelector('[data-testid="stMain"]') || document.documentElement;
  return {page: Math.max(document.documentElement.scrollWidth - window.innerWidth,
                         scroller.scrollWidth - scroller.clientWidth),
          items: [...seen].map(([what, by]) => ({what, by}))};
}"""


def settle(page: Page, timeout_ms: int = 300_000) -> None:
    """Wait until the script has run and stayed idle for a moment with nothing still loading
    (spinners, images): a fresh page reports "not running" before its first run starts."""
    idle = """() => {
        const app = document.querySelector('[data-testid="stApp"]');
        return app && app.dataset.testConnectionState === 'CONNECTED'
            && app.dataset.testScriptState === 'notRunning'
            && document.querySelector('[data-testid="stMainBlockContainer"] > div')
            && !document.querySelector('[data-testid="stSpinner"], [data-testid="stSkeleton"]')
            && [...document.images].every(i => i.complete);
    }"""
    for _ in range(3):  # idle twice in a row, 600 ms apart
        page.wait_for_function(idle, timeout=timeout_ms)
        page.wait_for_timeout(600)
        if page.evaluate(idle):
            break
    page.wait_for_timeout(300)  # charts size themselves after the run


def overflow(page: Page) -> dict:
    """{'page': px the document is wider than the screen, 'items': [{what, by}]}."""
    return page.evaluate(OVERFLOW_JS)


def _merge(into: dict, found: dict, where: str) -> None:
    into["page"] = max(into["page"], found["page"])
    for item in found["items"]:
        into["items"].append({**item, "what": f"{where}: {item['what']}"})


def overflow_everywhere(page: Page) -> dict:
    """`overflow` of the page as it opens, then with every expander open, then on every tab
    (a chart in a closed expander or a second tab overflows just the same once shown)."""
    found = {"page": 0, "items": []}
    _merge(found, overflow(page), "as opened")
    summaries = page.locator('[data-testid="stMainBlockContainer"] details:not([open]) > summary')
    if summaries.count():
        for _ in range(summaries.count()):
            summaries.nth(0).click()  # the list shrinks as each one opens
        settle(page)
        _merge(found, overflow(page), "expanders open")
    tabs = page.locator('[data-testid="stMainBlockContainer"] [role="tab"]')
    for i in range(tabs.count()):
        label = tabs.nth(i).inner_text().strip()
        if tabs.nth(i).get_attribute("aria-selected") == "true":
            continue
        tabs.nth(i).click()
        settle(page)
        _merge(found, overflow(page), f"tab {label}")
    return found


def full_screenshot(page: Page, path: str, max_height: int = 6000) -> None:
    """The whole page in one picture: Streamlit scrolls inside its main area, not the document,
    so the viewport is made as tall as the content for the shot and then put back."""
    size = page.viewport_size or DESKTOP
    tall = page.evaluate("() => (document.querySelector('[data-testid=\"stMain\"]')"
                         " || document.documentElement).scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": min(max(tall, size["height"]),
                                                                  max_height)})
    page.wait_for_timeout(300)
    page.screenshot(path=path)
    page.set_viewport_size(size)

"""Accessibility checks the browser tests run on a page: every form control has a name a screen
reader can say, and text has enough contrast against what is behind it (WCAG 2.1 AA: 4.5:1, 3:1 for
large text).  Written directly against the DOM and computed styles, so they need no extra package;
where the ``axe-playwright-python`` wheel (which bundles axe-core's axe.min.js) is installed, its
axe-core run is added on top (:func:`axe_violations`).
"""

from __future__ import annotations

from typing import Any

# Controls without an accessible name: no <label for>, no wrapping <label>, no aria-label(ledby),
# no title, and (buttons) no text.  Hidden controls are skipped: they are not reachable.
UNLABELLED = """() => {
  const named = (el) => {
    if (el.getAttribute('aria-label')?.trim()) return true;
    const by = el.getAttribute('aria-labelledby');
    if (by && by.split(/\\s+/).some(id => document.getElementById(id)?.textContent.trim())) return true;
    const said = (l) => l.textContent.trim() || l.querySelector('img[alt]:not([alt=""])');
    if (el.labels && [...el.labels].some(said)) return true;
    if (el.title?.trim()) return true;
    if (el.tagName === 'BUTTON' && el.textContent.trim()) return true;
    if (el.tagName === 'INPUT' && ['submit', 'button'].includes(el.type) && el.value.trim()) return true;
    return false;
  };
  return [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button, progress')]
    .filter(el => el.getClientRects().length && !named(el))
    .map(el => el.outerHTML.slice(0, 140));
}"""

# Text whose contrast with its background is below AA.  The background is the first opaque one
# up the tree (colours with alpha are blended over what lies under them); text over an image or a
# gradient, disabled controls (exempt in WCAG) and invisible text are skipped.
LOW_CONTRAST = """() => {
  const parse = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number); return [r, g, b, a]; };
  const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const lum = ([r, g, b]) => 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  const over = (top, under) => [0, 1, 2].map(i => top[i] * top[3] + under[i] * (1 - top[3])).concat(1);
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.backgroundImage !== 'none' || e.tagName === 'VIDEO' || e.tagName === 'IMG') return null;
      const c = parse(s.backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let bg = [255, 255, 255, 1];
    for (const c of layers.reverse()) bg = over(c, bg);
    return bg;
  };
  const bad = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el || !el.getClientRects().length) continue;
    if (el.closest('[disabled], [hidden], dialog:not([open]), script, style, noscript')) continue;
    const s = getComputedStyle(el);
    if (s.visibility === 'hidden' || Number(s.opacity) === 0) continue;
    const bg = background(el);
    if (!bg) continue;
    const fg = over(parse(s.color), bg);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const px = parseFloat(s.fontSize), bold = Number(s.fontWeight) >= 700;
    const need = px >= 24 || (bold && px >= 18.66) ? 3 : 4.5;
    const what = `${el.tagName.toLowerCase()}.${el.className} "${n.textContent.trim().slice(0, 40)}"`;
    const colours = `${s.color} on rgb(${bg.slice(0, 3).map(Math.round)})`;
    if (ratio + 0.005 < need) bad.push(`${ratio.toFixed(2)} < ${need}: ${what} (${colours})`);
  }
  return bad.slice(0, 10);
}"""


async def check_page(page: Any, where: str) -> None:
    """Fails naming each unlabelled control and each low-contrast text on the page as it is now."""
    unlabelled = await page.evaluate(UNLABELLED)
    assert unlabelled == [], f"{where}: controls without a label: {unlabelled}"
    low = await page.evaluate(LOW_CONTRAST)
    assert low == [], f"{where}: text below WCAG AA contrast: {low}"
    violations = await axe_violations(page)
    assert violations == [], f"{where}: axe-core: {violations}"


async def axe_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations, when the axe-playwright-python wheel is installed;
    [] without it (the checks above still ran)."""
    try:
        from axe_playwright_python.async_playwright import Axe  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return []
    results = await Axe().run(page)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])}x)"
        for v in results.response.get("violations", [])
        if v.get("impact") in ("serious", "critical")
    ]

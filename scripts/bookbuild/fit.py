"""Pages that fit: horizontal overflow measured in the browser, judged by a pure function.

At 1280 px (a laptop) every code block (`pre`, `div.highlight`, `div.cell_output`) and every
table of the article, with the element that holds it (its scroll container, or its parent),
must fit: an element overflows when ``scrollWidth > clientWidth + 1``. At 390 px (a phone) the
prose paragraphs (`p` in the article, outside tables, code and cell outputs) must fit.

In every table of the article, the text of two neighbouring cells of a row must be at least
:data:`MIN_GAP` px apart (:data:`GAPS_JS`, :func:`gap_problems`): a table without padding
(a pandas ``Styler``, say) runs its numbers together.

One exception, on purpose: a table inside a container that scrolls horizontally
(``overflow-x: auto`` or ``scroll``) whose first column is sticky (``position: sticky`` on the
first cell of every row) fits, since the reader scrolls it with the row labels in sight. A
table that is merely clipped, or scrolls with its labels out of sight, does not.

:data:`MEASURE_JS` measures in the page (playwright's ``page.evaluate(MEASURE_JS, mode)``) and
:func:`overflow_problems` turns the measurements into problems; :func:`check_fit` does both
widths on an open page.
"""

from __future__ import annotations

WIDE = {"width": 1280, "height": 900}  # the browser check's viewport
NARROW = {"width": 390, "height": 844}  # a phone
SLACK = 1  # px: rounding of sub-pixel layout
MIN_GAP = 8  # px between the texts of two neighbouring table cells (half an em of padding each)

# One measurement per element: kind, a description, scrollWidth, clientWidth, and whether it
# scrolls on purpose (a table in a horizontal scroller with a sticky first column).
MEASURE_JS = r"""(mode) => {
  const article = document.querySelector('article.bd-article, article, [role=main], main')
    || document.body;
  const out = [];
  const describe = (el, role) => {
    let s = el.tagName.toLowerCase();
    const cls = Array.from(el.classList).slice(0, 2);
    if (cls.length) s += '.' + cls.join('.');
    if (role) s += ' (' + role + ')';
    const section = el.closest('section[id]');
    if (section) s += ' in #' + section.id;
    const text = (el.textContent || '').trim().replace(/\s+/g, ' ');
    return s + ' "' + text.slice(0, 40) + (text.length > 40 ? '…' : '') + '"';
  };
  const measure = (el, kind, onPurpose, role) => out.push({kind: kind,
    what: describe(el, role), scroll: el.scrollWidth, client: el.clientWidth,
    on_purpose: onPurpose});
  if (mode === 'prose') {
    article.querySelectorAll('p').forEach(p => {
      if (!p.closest('table, pre, .cell_output, .highlight')) measure(p, 'p', false, '');
    });
    return out;
  }
  article.querySelectorAll('pre, div.highlight, div.cell_output').forEach(el => {
    measure(el, el.tagName === 'PRE' ? 'pre' : 'div.' + (el.classList.contains('highlight')
      ? 'highlight' : 'cell_output'), false, '');
  });
  article.querySelectorAll('table').forEach(t => {
    let scroller = null;
    for (let a = t.parentElement; a && a !== article.parentElement; a = a.parentElement) {
      if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(a).overflowX)) {
        scroller = a; break;
      }
    }
    const rows = Array.from(t.rows).filter(r => r.cells.length);
    const sticky = rows.length > 0 && rows.every(
      r => getComputedStyle(r.cells[0]).position === 'sticky');
    const onPurpose = !!scroller && sticky
      && ['auto', 'scroll'].includes(getComputedStyle(scroller).overflowX);
    measure(t, 'table', onPurpose, '');
    const holder = scroller || t.parentElement;
    const role = scroller ? 'scroll container of a table' : 'holds a table';
    if (holder) measure(holder, role, onPurpose, role);
  });
  return out;
}"""


# For every table row of the article: the rows' neighbouring cells whose texts are closest,
# {what, gap}: the smallest horizontal distance between the text of one cell and the next.
GAPS_JS = r"""() => {
  const article = document.querySelector('article.bd-article, article, [role=main], main')
    || document.body;
  const out = [];
  const box = cell => {
    if (!(cell.textContent || '').trim()) return null;
    const range = document.createRange();
    range.selectNodeContents(cell);
    const r = range.getBoundingClientRect();
    return r.width > 0 ? r : null;
  };
  article.querySelectorAll('table').forEach(t => {
    const section = t.closest('section[id]');
    Array.from(t.rows).forEach(row => {
      const boxes = Array.from(row.cells).map(box);
      for (let i = 0; i + 1 < boxes.length; i++) {
        if (!boxes[i] || !boxes[i + 1]) continue;
        const a = row.cells[i].textContent.trim(), b = row.cells[i + 1].textContent.trim();
        out.push({what: (section ? '#' + section.id + ' ' : '') + '"' + a.slice(0, 30)
          + '" | "' + b.slice(0, 30) + '"', gap: boxes[i + 1].left - boxes[i].right});
      }
    });
  });
  return out;
}"""


def gap_problems(page: str, gaps: list[dict], min_gap: float = MIN_GAP) -> list[str]:
    """One line per pair of neighbouring cells whose texts are less than ``min_gap`` px apart
    (the first three, then how many more)."""
    close = [g for g in gaps if g["gap"] < min_gap]
    return [
        f"{page}: table cells run together at {WIDE['width']} px: {g['what']} are "
        f"{g['gap']:.1f} px apart (at least {min_gap} px; pad the table's cells)"
        for g in close[:3]
    ] + ([f"{page}: ... and {len(close) - 3} more pairs of cells"] if len(close) > 3 else [])


def overflow_problems(page: str, measurements: list[dict], width: int) -> list[str]:
    """One line per element wider than its box (``scrollWidth > clientWidth + 1``), unless it
    scrolls on purpose (a horizontal scroller with a sticky first column)."""
    return [
        f"{page}: {m['what']} overflows at {width} px "
        f"(scrollWidth {m['scroll']} > clientWidth {m['client']})"
        for m in measurements
        if m["scroll"] > m["client"] + SLACK and not m.get("on_purpose")
    ]


def check_fit(page, name: str) -> list[str]:
    """Code and tables at 1280 px, prose at 390 px, on an open playwright page; the viewport is
    1280 px again afterwards."""
    problems = []
    try:
        for viewport, mode in ((WIDE, "code and tables"), (NARROW, "prose")):
            page.set_viewport_size(viewport)
            measurements = page.evaluate(MEASURE_JS, "prose" if mode == "prose" else "wide")
            problems += overflow_problems(name, measurements, viewport["width"])
            if mode != "prose":
                problems += gap_problems(name, page.evaluate(GAPS_JS))
    finally:
        page.set_viewport_size(WIDE)
    return problems

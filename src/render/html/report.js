// The script of elfmaps' HTML report (src/render/html/report.js; docs/report.md).
//
// It reads the report from <script type="application/json" id="elfmaps-data"> (the
// JSON `elfmaps map --json` or `elfmaps diff --json` prints) and draws the views of
// the page kind <html data-page="...">: "map" (address-space strip, treemap, table),
// "diff" (treemap and table of what grew and shrank) or "system" (`system --json`:
// treemap of object and kind across processes, tables of rows and processes). Names come from files and
// processes that anyone may have named: they are only ever set as text
// (textContent), never parsed as HTML.
//
// It checks itself and writes the result as JSON into <pre id="elfmaps-selfcheck">:
// errors caught (exceptions, console.error, policy violations), the time it took,
// the treemap's areas against its figures, the strip's order and the table's sums.
// tests/html.rs reads that from headless Chromium.
'use strict';
(function () {
  const t0 = performance.now();
  const check = { page: null, errors: [] };
  const checkEl = document.getElementById('elfmaps-selfcheck');
  function writeCheck() {
    // <, > and & as JSON escapes: the element's text then needs no HTML decoding.
    checkEl.textContent = JSON.stringify(check).replace(
      /[<>&\u00a0]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
  }
  function caught(what) {
    check.errors.push(what);
    writeCheck();
  }
  window.addEventListener('error', (e) => caught(`error: ${e.message} (${e.filename}:${e.lineno})`));
  window.addEventListener('unhandledrejection', (e) => caught(`unhandled rejection: ${e.reason}`));
  document.addEventListener('securitypolicyviolation',
    (e) => caught(`policy violation: ${e.effectiveDirective} ${e.blockedURI || '(inline)'}`));
  const consoleError = console.error.bind(console);
  console.error = (...args) => {
    caught('console.error: ' + args.map(String).join(' '));
    consoleError(...args);
  };

  // ------------------------------------------------------------------ helpers

  const $ = (id) => document.getElementById(id);
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function pos(e, x, y, w, h) {
    const s = e.style;
    s.left = x + 'px';
    s.top = y + 'px';
    s.width = w + 'px';
    s.height = h + 'px';
  }

  // Sizes as the terminal tables print them (src/vocab/human.rs): binary units,
  // one decimal, "-" for unknown.
  const UNITS = ['K', 'M', 'G', 'T', 'P'];
  function human(n) {
    if (n == null) return '-';
    if (n < 1024) return n + 'B';
    let u = 0;
    let div = 1024;
    while ((n * 10) / div >= 1024 * 10 - 5 && u + 1 < UNITS.length) {
      div *= 1024;
      u++;
    }
    const tenths = Math.floor((n * 10 + div / 2) / div);
    if (tenths >= 1000) return Math.floor((tenths + 5) / 10) + UNITS[u];
    return Math.floor(tenths / 10) + '.' + (tenths % 10) + UNITS[u];
  }
  // A signed change (src/render/diff.rs): +4.0K, -1.5M, 0, - when unknown.
  function signed(d) {
    if (d == null) return '-';
    if (d === 0) return '0';
    return (d > 0 ? '+' : '-') + human(Math.abs(d));
  }
  function hex(n) {
    return n.toString(16);
  }
  // A share as a table cell: `12.3%`, `-` when unknown.
  function share(part, whole) {
    if (part == null || !whole) return '-';
    return `${((100 * part) / whole).toFixed(1)}%`;
  }
  function pct(part, whole) {
    if (part == null || !whole) return '';
    return ` (${((100 * part) / whole).toFixed(1)}%)`;
  }

  // Names as the terminal shows them (src/render/mod.rs): a maps name's \012 is a
  // newline, shown as \n; then the printed form of the one escaping rule, mirrored from
  // src/vocab/escape.rs (which the names were written by: bytes that are not UTF-8 are
  // \xNN already): control characters as \n, \t, \e or \xNN for each UTF-8 byte; line
  // separators, bidirectional and invisible characters as \u{XXXX}. Backslashes kept.
  function display(name) {
    return name
      .replace(/\\012/g, '\n')
      .replace(/[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/g, (c) => {
        const n = c.charCodeAt(0);
        if (c === '\n') return '\\n';
        if (c === '\t') return '\\t';
        if (n === 0x1b) return '\\e';
        if (n < 0x80) return '\\x' + n.toString(16).padStart(2, '0');
        if (n < 0xa0) return '\\xc2\\x' + n.toString(16);
        return '\\u{' + n.toString(16).padStart(4, '0') + '}';
      });
  }
  // The short name of an object or mapping: the file name of a path, the whole name
  // for /dev/..., /SYSV... and /anon_hugepage.
  function shortName(name) {
    if (name == null) return '-';
    const whole = ['/dev/', '/SYSV', '/anon_hugepage'].some((p) => name.startsWith(p));
    if (!name.startsWith('/') || whole) return display(name);
    const deleted = name.endsWith(' (deleted)');
    const path = deleted ? name.slice(0, -' (deleted)'.length) : name;
    const file = path.slice(path.lastIndexOf('/') + 1);
    return display(deleted ? file + ' (deleted)' : file);
  }

  // Figures and the one rule for adding them (src/vocab/figures.rs): a sum with an
  // unknown term is unknown (null), never a lower bound.
  const FIGURES = ['size', 'rss', 'pss', 'shared_clean', 'shared_dirty', 'private_clean',
    'private_dirty', 'anonymous', 'swap', 'swap_pss', 'locked', 'hugetlb'];
  function zero() {
    const f = {};
    for (const k of FIGURES) f[k] = 0;
    return f;
  }
  function add(acc, r) {
    for (const k of FIGURES) acc[k] = acc[k] == null || r[k] == null ? null : acc[k] + r[k];
  }
  function addOne(a, b) {
    return a == null || b == null ? null : a + b;
  }

  // The tooltip: one element, filled from the hovered thing's lines of text.
  const tip = $('tip');
  function showTip(ev, lines) {
    tip.textContent = '';
    lines.forEach((l, i) => {
      if (i) tip.append('\n');
      if (i === 0) tip.append(el('b', null, l));
      else tip.append(l);
    });
    tip.hidden = false;
    moveTip(ev);
  }
  function moveTip(ev) {
    const pad = 14;
    const w = tip.offsetWidth;
    const h = tip.offsetHeight;
    let x = ev.clientX + pad;
    let y = ev.clientY + pad;
    if (x + w > window.innerWidth) x = Math.max(0, ev.clientX - pad - w);
    if (y + h > window.innerHeight) y = Math.max(0, ev.clientY - pad - h);
    tip.style.left = x + 'px';
    tip.style.top = y + 'px';
  }
  function hideTip() {
    tip.hidden = true;
  }
  // Hover over `box`: `lines(target)` gives the tooltip of the element under the
  // pointer (or null), `enter(target)` and `leave(target)` highlight.
  function hover(box, lines, enter, leave) {
    let cur = null;
    box.addEventListener('mousemove', (ev) => {
      const t = ev.target;
      if (t !== cur) {
        if (cur && leave) leave(cur);
        cur = t;
        const l = lines(t);
        if (!l) {
          hideTip();
          return;
        }
        if (enter) enter(t);
        showTip(ev, l);
      } else if (!tip.hidden) {
        moveTip(ev);
      }
    });
    box.addEventListener('mouseleave', () => {
      if (cur && leave) leave(cur);
      cur = null;
      hideTip();
    });
  }

  // Time marks of the first drawing (milliseconds since the script started).
  const marks = {};
  function mark(name) {
    marks[name] = Math.round(performance.now() - t0);
  }
  function section(title) {
    const s = el('section');
    const bar = el('div', 'bar');
    bar.append(el('h2', null, title));
    s.append(bar);
    $('app').append(s);
    return { s, bar };
  }
  // A segmented control: one choice of `options` ([value, label]).
  function choice(name, options, value, onChange) {
    const seg = el('span', 'seg');
    for (const [v, label] of options) {
      const l = el('label');
      const input = el('input');
      input.type = 'radio';
      input.name = name;
      input.value = v;
      input.checked = v === value;
      input.addEventListener('change', () => onChange(v));
      l.append(input, label);
      seg.append(l);
    }
    return seg;
  }
  function swatch(kind) {
    return el('span', 'sw k-' + kind);
  }
  function legend(kinds, present, extra) {
    const box = el('div', 'legend');
    for (const k of kinds) {
      if (!present.has(k)) continue;
      const s = el('span');
      s.append(swatch(k), k);
      box.append(s);
    }
    for (const [cls, text] of extra || []) {
      const s = el('span');
      s.append(el('span', 'sw ' + cls), text);
      box.append(s);
    }
    return box;
  }
  function facts(parts) {
    const p = $('facts');
    p.textContent = '';
    parts.forEach(([label, value], i) => {
      if (i) p.append(' · ');
      p.append(label ? label + ' ' : '');
      p.append(el('b', null, value));
    });
  }

  // ----------------------------------------------------------------- treemap

  // Squarified treemap (Bruls, Huizing and van Wijk, 2000): `nodes`, sorted by value,
  // largest first, all values > 0, fill the rectangle (x, y, w, h) with areas
  // proportional to their values. Rows are laid along the shorter side and grow while
  // the worst aspect ratio in them improves. Sets x, y, w, h on every node.
  function squarify(nodes, x, y, w, h) {
    let total = 0;
    for (const n of nodes) total += n.value;
    if (!(total > 0) || !(w > 0) || !(h > 0)) {
      for (const n of nodes) Object.assign(n, { x, y, w: 0, h: 0 });
      return;
    }
    const scale = (w * h) / total;
    let i = 0;
    while (i < nodes.length) {
      const side = Math.min(w, h);
      let sum = nodes[i].value * scale;
      let min = sum;
      let max = sum;
      let worst = Math.max((side * side * max) / (sum * sum), (sum * sum) / (side * side * min));
      let j = i + 1;
      for (; j < nodes.length; j++) {
        const a = nodes[j].value * scale;
        const s2 = sum + a;
        const mn = Math.min(min, a);
        const mx = Math.max(max, a);
        const wr = Math.max((side * side * mx) / (s2 * s2), (s2 * s2) / (side * side * mn));
        if (wr > worst) break;
        sum = s2;
        min = mn;
        max = mx;
        worst = wr;
      }
      // The last row takes what is left, so that rounding leaves no sliver.
      const last = j === nodes.length;
      if (w >= h) {
        const thick = last ? w : sum / h;
        let yy = y;
        for (let k = i; k < j; k++) {
          const hh = k === j - 1 ? y + h - yy : (nodes[k].value * scale) / thick;
          Object.assign(nodes[k], { x, y: yy, w: thick, h: hh });
          yy += hh;
        }
        x += thick;
        w -= thick;
      } else {
        const thick = last ? h : sum / w;
        let xx = x;
        for (let k = i; k < j; k++) {
          const ww = k === j - 1 ? x + w - xx : (nodes[k].value * scale) / thick;
          Object.assign(nodes[k], { x: xx, y, w: ww, h: thick });
          xx += ww;
        }
        y += thick;
        h -= thick;
      }
      i = j;
    }
  }

  function byValue(a, b) {
    return b.value - a.value || (a.order < b.order ? -1 : a.order > b.order ? 1 : 0);
  }

  // Draws `root` (nodes: {value, children?, cls, label, sub, key}) into `box`:
  // leaves without padding, then outlines and labels of the groups above them (level
  // classes `levels[depth]`). Returns the leaves, with their rectangles.
  function drawTreemap(box, root, levels) {
    box.textContent = '';
    const W = box.clientWidth;
    const H = box.clientHeight;
    const leaves = [];
    const groups = [];
    const frag = document.createDocumentFragment();
    function walk(node, depth) {
      node.children.sort(byValue);
      squarify(node.children, node.x, node.y, node.w, node.h);
      for (const c of node.children) {
        if (c.children) {
          groups.push([c, depth]);
          walk(c, depth + 1);
        } else {
          const e = el('div', 'leaf ' + c.cls);
          e.dataset.n = leaves.length;
          pos(e, c.x, c.y, c.w, c.h);
          if (c.label && c.w >= 60 && c.h >= 34) e.append(el('span', 'lbl', c.label));
          frag.append(e);
          leaves.push(c);
          c.el = e;
        }
      }
    }
    Object.assign(root, { x: 0, y: 0, w: W, h: H });
    walk(root, 0);
    // Outlines of groups large enough to see, deepest first so objects are on top.
    groups.sort((a, b) => b[1] - a[1]);
    for (const [g, depth] of groups) {
      if (g.w < 3 || g.h < 3) continue;
      const e = el('div', levels[depth] || levels[levels.length - 1]);
      pos(e, g.x, g.y, g.w, g.h);
      g.el = e;
      const big = depth === 0 ? g.w >= 50 && g.h >= 18 : g.w >= 70 && g.h >= 40;
      if (big) e.append(el('span', 'lbl', g.label + '  ' + g.sub));
      frag.append(e);
    }
    box.append(frag);
    return { leaves, W, H };
  }

  // The self-check of a drawn treemap: each leaf's area, as laid out and as the
  // browser drew it, against its share of the figure. Leaves thinner than 4 px are
  // left out of the measured check: the browser places boxes on a grid of 1/64 px.
  function checkTreemap(drawn, total) {
    const { leaves, W, H } = drawn;
    const scale = (W * H) / total;
    const box = leaves.length ? leaves[0].el.parentElement.getBoundingClientRect() : null;
    let layoutErr = 0;
    let domErr = 0;
    let measured = 0;
    let inside = true;
    let sum = 0;
    for (const l of leaves) {
      const want = l.value * scale;
      layoutErr = Math.max(layoutErr, Math.abs(l.w * l.h - want) / want);
      sum += l.w * l.h;
      const r = l.el.getBoundingClientRect();
      if (r.width >= 4 && r.height >= 4) {
        measured++;
        domErr = Math.max(domErr, Math.abs(r.width * r.height - want) / want);
      }
      const eps = 0.02;
      if (r.left < box.left - eps || r.top < box.top - eps || r.right > box.right + eps || r.bottom > box.bottom + eps) inside = false;
    }
    return {
      leaves: leaves.length,
      measured,
      max_rel_err_layout: layoutErr,
      max_rel_err_drawn: domErr,
      area_rel_err: leaves.length ? Math.abs(sum - W * H) / (W * H) : 0,
      inside,
      width: W,
      height: H,
    };
  }

  // A treemap section: a choice of figure, a note on unknown figures, the map.
  // `build(metric)` returns {root, total, unknown: {count, size}, all}; `tip(node)`
  // the tooltip lines of a leaf; `onDraw` runs after each draw.
  // Clicking a tile zooms into the top-level group it is in (its object): the group
  // fills the map; clicking again, the "whole" button or Escape goes back. With
  // `opts.objects(node)` (a top-level group is an object), an "objects only" toggle
  // leaves out memory of no object (issue 20: anonymous memory was 80% of a
  // Python process's map and cut every library's label).
  function topOf(node) {
    while (node.parent) node = node.parent;
    return node;
  }
  const groupKey = (node) => (node.key != null ? node.key : node.label);
  function treemapSection(opts) {
    const { s, bar } = section(opts.title);
    const figures = [['pss', 'PSS'], ['rss', 'RSS'], ['size', 'Size']];
    let metric = opts.initial;
    let drawn = null;
    let built = null;
    let zoomed = null;
    let objectsOnly = false;
    let shownTotal = 0;
    bar.append(choice('tm-metric', figures, metric, (m) => {
      metric = m;
      draw();
    }));
    let toggle = null;
    if (opts.objects) {
      const label = el('label', 'toggle');
      toggle = el('input');
      toggle.type = 'checkbox';
      toggle.id = 'tm-objects';
      toggle.addEventListener('change', () => {
        objectsOnly = toggle.checked;
        draw();
      });
      label.append(toggle, ' objects only');
      bar.append(label);
    }
    const back = el('button', 'zoom-back', '\u2190 whole map');
    back.type = 'button';
    back.hidden = true;
    back.addEventListener('click', () => zoom(null));
    bar.append(back);
    const note = el('p', 'note');
    const where = el('p', 'note zoom-where');
    const box = el('div', 'treemap');
    box.style.height = opts.height + 'px';
    s.append(note, where, box);
    if (opts.legend) s.append(opts.legend);
    function zoom(key) {
      zoomed = key;
      draw();
      if (opts.onZoom && zoomed != null) opts.onZoom(zoomed);
    }
    function draw() {
      built = opts.build(metric, { objectsOnly });
      const name = figures.find((f) => f[0] === metric)[1];
      note.textContent = opts.explain(built, name, metric);
      let root = built.root;
      shownTotal = built.total;
      const inside = zoomed == null ? null : (root.children || []).find((c) => groupKey(c) === zoomed);
      if (inside) {
        root = { children: [inside] };
        shownTotal = inside.value;
        where.textContent = `Zoomed into ${inside.label}: ${human(inside.value)}${pct(inside.value, built.total)} of the ${name}; click a tile or press Escape to go back.`;
      } else {
        zoomed = null;
        where.textContent = 'Click a tile to zoom into its group.';
      }
      back.hidden = zoomed == null;
      box.classList.toggle('zoomed', zoomed != null);
      if (!shownTotal) {
        box.textContent = '';
        drawn = { leaves: [], W: box.clientWidth, H: box.clientHeight };
      } else {
        drawn = drawTreemap(box, root, opts.levels);
      }
      if (opts.onDraw) opts.onDraw(drawn);
    }
    box.addEventListener('click', (ev) => {
      const n = ev.target.dataset.n;
      if (zoomed != null) return zoom(null);
      if (n == null || !drawn) return;
      zoom(groupKey(topOf(drawn.leaves[n])));
    });
    document.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && zoomed != null) zoom(null);
    });
    hover(box, (t) => {
      const n = t.dataset.n;
      return n == null || !drawn ? null : opts.tip(drawn.leaves[n], metric, built.total);
    }, (t) => opts.enter && opts.enter(drawn.leaves[t.dataset.n]),
    (t) => opts.leave && t.dataset.n != null && opts.leave(drawn.leaves[t.dataset.n]));
    draw();
    // The self-check of zoom and toggle: zoom into the largest group, check that the
    // map shows it alone and to scale, go back; with the toggle, check that no tile
    // of memory of no object is left, and toggle back.
    function exercise() {
      const out = {};
      const whole = drawn.leaves.length;
      const groups = (built.root.children || []).filter((c) => c.value > 0);
      if (groups.length) {
        const big = groups.reduce((a, b) => (b.value > a.value ? b : a));
        zoom(groupKey(big));
        // (Each draw builds the tree anew: compare groups by their key.)
        const inZoom = drawn.leaves.length > 0 && drawn.leaves.every((l) => groupKey(topOf(l)) === groupKey(big));
        out.zoom = Object.assign({
          group: big.label,
          only_that_group: inZoom,
          button_shown: !back.hidden,
        }, checkTreemap(drawn, shownTotal || 1));
        zoom(null);
        out.zoom.back_leaves = drawn.leaves.length;
        out.zoom.whole_leaves = whole;
        out.zoom.button_hidden_after = back.hidden;
      }
      if (toggle) {
        toggle.checked = true;
        toggle.dispatchEvent(new Event('change'));
        const left = drawn.leaves.filter((l) => !opts.objects(topOf(l))).length;
        out.objects_only = Object.assign({ non_object_leaves: left, leaves: drawn.leaves.length },
          checkTreemap(drawn, shownTotal || 1));
        toggle.checked = false;
        toggle.dispatchEvent(new Event('change'));
        out.objects_only.back_leaves = drawn.leaves.length;
        out.objects_only.whole_leaves = whole;
      }
      return out;
    }
    return {
      box,
      redraw: draw,
      check: () => Object.assign({ metric }, checkTreemap(drawn, shownTotal || 1)),
      exercise,
      // Zooms into the group `key` through a click on one of its tiles, as the user
      // would; whether there was one to click.
      zoomTo(key) {
        if (zoomed != null) zoom(null);
        const leaf = drawn.leaves.find((l) => groupKey(topOf(l)) === key);
        if (!leaf) return false;
        leaf.el.click();
        return zoomed === key;
      },
      metric: () => metric,
    };
  }

  // ------------------------------------------------------ sections and symbols

  // The drill-down of `report --symbols` (issue 24): the symbols document embedded
  // in the JSON element elfmaps-symbols, which only such a page has (`symbols --json` cut
  // to the most resident rows of each section, plus one `[other]` row per section
  // for the rest, so a section's rows still sum to it). Three levels: the objects,
  // one object's sections, one section's rows; a click goes down, "up", Escape or
  // a click at the last level goes back up. Zooming the treemap into an object opens
  // its sections here. Areas are proportional to resident bytes (or size).
  function symbolsSection(sym) {
    const { s, bar } = section('Sections and symbols');
    const figures = [['resident', 'Resident'], ['size', 'Size']];
    let metric = 'resident';
    let at = { object: null, section: null };
    let drawn = null;
    let shown = [];
    bar.append(choice('sym-metric', figures, metric, (m) => {
      metric = m;
      draw();
    }));
    const up = el('button', 'zoom-back', '\u2191 up');
    up.type = 'button';
    up.hidden = true;
    up.addEventListener('click', () => goUp());
    bar.append(up);
    const where = el('p', 'note zoom-where');
    const note = el('p', 'note');
    const box = el('div', 'treemap');
    box.style.height = '360px';
    const list = el('table', 'rows drill');
    s.append(where, note, box, list);
    const byPath = new Map(sym.objects.map((o) => [o.path, o]));
    const rowName = (r) => (r.demangled != null ? r.demangled : r.name);
    function sectionsOf(o) {
      const secs = new Map();
      for (const r of o.symbols) {
        let g = secs.get(r.section);
        if (!g) {
          g = { name: r.section, kind: r.kind, size: 0, resident: 0, rows: [] };
          secs.set(r.section, g);
        }
        g.size += r.size;
        g.resident = g.resident == null || r.resident == null ? null : g.resident + r.resident;
        g.rows.push(r);
      }
      return [...secs.values()];
    }
    function objectFigures(o) {
      let size = 0;
      let resident = 0;
      for (const r of o.symbols) {
        size += r.size;
        resident = resident == null || r.resident == null ? null : resident + r.resident;
      }
      return { size, resident };
    }
    // The items of the level shown: {key, label, kind, size, resident, row?}.
    function items() {
      if (at.object == null) {
        return sym.objects.map((o) => Object.assign({ key: o.path, label: o.object, kind: null,
          from: o.symbols_from }, objectFigures(o)));
      }
      const o = byPath.get(at.object);
      const secs = sectionsOf(o);
      if (at.section == null) {
        return secs.map((g) => ({ key: g.name, label: g.name, kind: g.kind, size: g.size, resident: g.resident }));
      }
      const g = secs.find((x) => x.name === at.section);
      return (g ? g.rows : []).map((r) => ({ key: r.start, label: rowName(r), kind: r.kind, size: r.size,
        resident: r.resident, row: r }));
    }
    function open(object, sec) {
      at = { object: object != null && byPath.has(object) ? object : null, section: null };
      if (at.object != null && sec != null) at.section = sec;
      draw();
    }
    function goUp() {
      if (at.section != null) open(at.object, null);
      else open(null, null);
    }
    function draw() {
      shown = items();
      const name = figures.find((f) => f[0] === metric)[1];
      const o = at.object == null ? null : byPath.get(at.object);
      if (o == null) {
        where.textContent = 'All objects: click an object to see its sections.';
      } else if (at.section == null) {
        where.textContent = `${o.object} (symbols from ${o.symbols_from}): its sections; click one to see its symbols.`;
      } else {
        where.textContent = `${o.object} \u203a ${at.section}: its symbols, the most resident ${sym.top_per_section} and [other] for the rest.`;
      }
      up.hidden = o == null;
      const leaves = [];
      let total = 0;
      let unknown = 0;
      shown.forEach((it, i) => {
        const v = it[metric];
        if (v == null) {
          unknown++;
          return;
        }
        if (!(v > 0)) return;
        total += v;
        leaves.push({ i, order: String(it.key), value: v, cls: it.kind ? 'k-' + it.kind : 'plain',
          label: `${it.label} ${human(v)}` });
      });
      note.textContent = `Areas are proportional to ${name}; ${human(total)} in all` +
        (unknown ? `; ${unknown} with ${name} unknown are not drawn.` : '.') +
        (sym.objects_left_out ? ` The symbols of the ${sym.objects_left_out} least resident objects are not in the page (it stays under 2 MiB).` : '');
      box.classList.toggle('zoomed', o != null && at.section != null);
      if (!total) {
        box.textContent = '';
        drawn = { leaves: [], W: box.clientWidth, H: box.clientHeight };
      } else {
        drawn = drawTreemap(box, { children: leaves }, ['kind']);
      }
      // The list: the items, most first, names always readable.
      list.textContent = '';
      const head = el('tr');
      for (const h of [at.object == null ? 'object' : at.section == null ? 'section' : 'symbol', 'kind', 'size', 'resident', '%'])
        head.append(el('th', null, h));
      list.append(head);
      const sorted = shown.slice().sort((a, b) => (b.resident == null ? -1 : b.resident) - (a.resident == null ? -1 : a.resident) || b.size - a.size);
      const whole = sorted.reduce((acc, it) => (acc == null || it.resident == null ? null : acc + it.resident), 0);
      for (const it of sorted.slice(0, 100)) {
        const tr = el('tr');
        tr.append(el('td', 'name', it.label), el('td', null, it.kind || ''), el('td', 'num', human(it.size)),
          el('td', 'num', human(it.resident)), el('td', 'num', whole ? pct(it.resident || 0, whole).trim() : ''));
        if (at.section == null) {
          tr.classList.add('go');
          tr.addEventListener('click', () => down(it));
        }
        list.append(tr);
      }
    }
    function down(it) {
      if (at.object == null) open(it.key, null);
      else if (at.section == null) open(at.object, it.key);
    }
    box.addEventListener('click', (ev) => {
      const n = ev.target.dataset.n;
      if (at.section != null) return goUp();
      if (n == null || !drawn) return;
      down(shown[drawn.leaves[n].i]);
    });
    document.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && at.object != null) goUp();
    });
    draw();
    // The self-check: the object named by the page's address (#drill=FILE NAME),
    // else the most resident one, is opened from the treemap's tile of it (`fromTile`);
    // then each of its sections, recording the rows listed and the names drawn; then
    // up twice. Every level's items are checked to sum to the level above.
    function exercise(fromTile) {
      const want = decodeURIComponent((location.hash.match(/drill=([^&]*)/) || [])[1] || '');
      const target = sym.objects.find((o) => o.object === want) ||
        sym.objects.slice().sort((a, b) => (objectFigures(b).resident || 0) - (objectFigures(a).resident || 0))[0];
      const out = { objects: sym.objects.length, top_per_section: sym.top_per_section, drawn_objects: drawn.leaves.length };
      if (!target) return out;
      out.object = target.object;
      out.from_tile = fromTile(target.path);
      out.level_after_tile = { object: at.object, section: at.section };
      out.sections = shown.map((it) => ({ name: it.label, size: it.size, resident: it.resident }));
      const whole = objectFigures(target);
      out.sections_sum = { size: shown.reduce((a, it) => a + it.size, 0), object_size: whole.size };
      out.symbols = {};
      for (const sec of out.sections.map((x) => x.name)) {
        // Through the page's own click on the section's tile, when it has one.
        const leaf = drawn.leaves.find((l) => shown[l.i].key === sec);
        if (leaf) leaf.el.click();
        else open(target.path, sec);
        out.symbols[sec] = {
          clicked: !!leaf,
          where: where.textContent,
          rows: shown.map((it) => ({ name: it.label, size: it.size, resident: it.resident })),
          labels: [...box.querySelectorAll('.leaf .lbl')].map((e) => e.textContent),
          listed: [...list.querySelectorAll('td.name')].map((e) => e.textContent),
        };
        up.click();
      }
      up.click();
      out.back = { object: at.object, section: at.section, up_hidden: up.hidden, items: shown.length };
      return out;
    }
    return { open, exercise, has: (path) => byPath.has(path) };
  }

  // ------------------------------------------------------------------- table

  // A sortable, filterable table. `columns`: {key, label, num, cell(row) -> [text,
  // cls]}; `footer(rows)`: rows of cells for the shown rows' sums.
  const FIRST_ROWS = 250;
  function tableSection(opts) {
    const { s, bar } = section(opts.title);
    const tools = el('div', 'tools');
    const search = el('input');
    search.type = 'search';
    search.placeholder = opts.placeholder || 'filter: object or kind';
    search.setAttribute('aria-label', search.placeholder);
    const count = el('span', 'note');
    tools.append(search, count);
    if (opts.modes) {
      bar.append(choice('table-mode', opts.modes, opts.mode, (m) => {
        opts.mode = m;
        render();
      }));
    }
    const scroll = el('div', 'scroll');
    const table = el('table');
    const thead = el('thead');
    const tbody = el('tbody');
    const tfoot = el('tfoot');
    table.append(thead, tbody, tfoot);
    scroll.append(table);
    s.append(tools, scroll);
    let sortKey = opts.sortKey;
    let desc = true;
    let showAll = false;
    search.addEventListener('input', render);
    function header(columns) {
      thead.textContent = '';
      const tr = el('tr');
      for (const c of columns) {
        const th = el('th', c.num ? 'num' : null, c.label);
        if (c.key === sortKey) th.setAttribute('aria-sort', desc ? 'descending' : 'ascending');
        th.addEventListener('click', () => {
          if (sortKey === c.key) desc = !desc;
          else {
            sortKey = c.key;
            desc = !!c.num;
          }
          render();
        });
        tr.append(th);
      }
      thead.append(tr);
    }
    function row(cells, cls) {
      const tr = el('tr', cls);
      for (const [text, c, sw] of cells) {
        const td = el('td', c);
        if (sw) td.append(swatch(sw));
        td.append(text);
        tr.append(td);
      }
      return tr;
    }
    function render() {
      const columns = opts.columns(opts.mode);
      if (sortKey != null && !columns.some((c) => c.key === sortKey)) sortKey = columns.find((c) => c.num).key;
      header(columns);
      const all = opts.rows(opts.mode);
      const q = search.value.trim().toLowerCase();
      const shown = q ? all.filter((r) => r.text.toLowerCase().includes(q)) : all.slice();
      const col = columns.find((c) => c.key === sortKey);
      // No column chosen: the order of the data.
      if (col) shown.sort((a, b) => {
        const x = col.value(a);
        const y = col.value(b);
        // Unknown (null) sorts below every known figure.
        let c;
        if (x == null || y == null) c = x == null ? (y == null ? 0 : -1) : 1;
        else c = x < y ? -1 : x > y ? 1 : 0;
        return desc ? -c : c;
      });
      // The first rows only, unless asked: a table of thousands of rows takes the
      // browser longer to lay out than everything else on the page.
      const frag = document.createDocumentFragment();
      const drawn = showAll ? shown.length : Math.min(shown.length, FIRST_ROWS);
      for (let i = 0; i < drawn; i++) frag.append(row(columns.map((c) => c.cell(shown[i])), shown[i].cls));
      if (drawn < shown.length) {
        const tr = el('tr', 'more');
        const td = el('td');
        td.colSpan = columns.length;
        const b = el('button', null, `show all ${shown.length} rows`);
        b.addEventListener('click', () => {
          showAll = true;
          render();
        });
        td.append(`${shown.length - drawn} more rows (their sums are in the totals below): `, b);
        tr.append(td);
        frag.append(tr);
      }
      tbody.textContent = '';
      tbody.append(frag);
      tfoot.textContent = '';
      for (const cells of opts.footer(shown, all, opts.mode)) tfoot.append(row(cells));
      count.textContent = shown.length === all.length ? `${all.length} rows` : `${shown.length} of ${all.length} rows match`;
    }
    // Printed, every row (the print style sheet lets the table run over pages).
    window.addEventListener('beforeprint', () => {
      if (!showAll) {
        showAll = true;
        render();
      }
    });
    render();
    return { render };
  }

  // ---------------------------------------------------------------- map page

  function mapPage(d, kinds) {
    const regions = d.regions;
    const n = regions.length;
    const t = d.totals;
    const title = [['', d.source === 'maps' ? 'saved maps (no figures but size)' : d.source],
      ['page size', human(d.page_size)], ['regions', String(n)], ['objects', String(d.objects.length)],
      ['size', human(t.size)], ['RSS', human(t.rss)], ['PSS', human(t.pss)], ['swap', human(t.swap)]];
    if (t.hugetlb) title.push(['hugetlb', human(t.hugetlb) + ' (not in RSS)']);
    if (d.warnings.length) title.push(['warnings', String(d.warnings.length)]);
    facts(title);
    const present = new Set(regions.map((r) => r.kind));
    const objectName = (r) => (r.object != null ? shortName(r.object) : r.path != null ? shortName(r.path) : '[ anon ]');
    function regionTip(i) {
      const r = regions[i];
      const lines = [objectName(r)];
      if (r.object != null && r.object !== lines[0]) lines.push(display(r.object));
      else if (r.object == null && r.path != null && display(r.path) !== lines[0]) lines.push(display(r.path));
      let k = r.kind;
      if (r.segment != null) k += ` · segment ${r.segment}`;
      if (r.split) k += ' · part of a split maps line';
      lines.push(`${k} · ${r.perms}`);
      lines.push(`${hex(r.start)}–${hex(r.end)} · size ${human(r.size)}`);
      lines.push(`RSS ${human(r.rss)} · PSS ${human(r.pss)} · private dirty ${human(r.private_dirty)} · swap ${human(r.swap)}`);
      return lines;
    }

    // Strip cells and treemap groups of each object, for highlighting.
    const objectOf = (r) => (r.object != null ? 'o' + r.object : 'r' + r.start);
    const cellsOf = new Map();

    // The treemap: object, then kind, then region.
    // As the terminal sorts (docs/cli.md): pss where known, else rss, else size.
    const initial = ['pss', 'rss'].find((m) => t[m] != null) || 'size';
    const initialName = { pss: 'PSS', rss: 'RSS', size: 'size' }[initial];
    let tmGroups = new Map();
    let drill = null;
    const tm = treemapSection({
      title: 'Treemap: object, kind, region',
      initial,
      height: Math.round(Math.min(620, Math.max(360, window.innerWidth * 0.42))),
      levels: ['obj', 'kind'],
      objects: (o) => o.object != null,
      build(metric, flags) {
        const objs = new Map();
        const unknown = { count: 0, size: 0 };
        let total = 0;
        regions.forEach((r, i) => {
          if (flags && flags.objectsOnly && r.object == null) return;
          const key = r.object == null ? '' : r.object;
          let o = objs.get(key);
          if (!o) {
            o = { key, order: key, label: r.object == null ? 'memory of no object' : shortName(r.object),
              object: r.object, value: 0, sum: 0, children: [], kinds: new Map() };
            objs.set(key, o);
          }
          let k = o.kinds.get(r.kind);
          if (!k) {
            k = { order: r.kind, label: r.kind, kind: r.kind, value: 0, sum: 0, children: [], parent: o };
            o.kinds.set(r.kind, k);
            o.children.push(k);
          }
          const v = r[metric];
          o.sum = addOne(o.sum, v);
          k.sum = addOne(k.sum, v);
          if (v == null) {
            unknown.count++;
            unknown.size += r.size;
            return;
          }
          if (!(v > 0)) return;
          k.children.push({ i, order: r.start, value: v, cls: 'k-' + r.kind, parent: k });
          k.value += v;
          o.value += v;
          total += v;
        });
        const root = { children: [] };
        tmGroups = new Map();
        for (const o of objs.values()) {
          o.children = o.children.filter((k) => k.value > 0);
          for (const k of o.children) k.sub = human(k.value) + (k.sum == null ? ' + ?' : '');
          o.sub = human(o.value) + (o.sum == null ? ' + ?' : '');
          if (o.value > 0) root.children.push(o);
          tmGroups.set(o.key, o);
        }
        return { root, total, unknown };
      },
      explain(b, name, metric) {
        const parts = [];
        const why = d.source === 'maps' ? 'a saved maps has no figures but size' : 'the input does not give it';
        if (b.unknown.count === n) return `${name} is unknown for every region (${why}): nothing to draw; choose Size.`;
        parts.push(`Areas are proportional to ${name}; ${human(b.total)} in all.`);
        if (metric === 'size' && initial === 'size' && n) parts.push(`(PSS and RSS are unknown: ${why}.)`);
        if (b.unknown.count) {
          parts.push(`${name} is unknown for ${b.unknown.count} region${b.unknown.count === 1 ? '' : 's'} (${human(b.unknown.size)} of size; parts of split maps lines of a saved input have no figures): they are not drawn, and the objects and kinds they belong to show their known part followed by "+ ?".`);
        }
        const zero = regions.filter((r) => r[metric] === 0).length;
        if (zero) parts.push(`${zero} region${zero === 1 ? ' has' : 's have'} ${name} 0 and no area.`);
        return parts.join(' ');
      },
      tip(leaf, metric, total) {
        const lines = regionTip(leaf.i);
        const k = leaf.parent;
        const o = k.parent;
        const name = metric === 'size' ? 'size' : metric.toUpperCase();
        lines.push(`${o.label}: ${name} ${o.sub}${pct(o.value, total)}; its ${k.kind}: ${k.sub}`);
        return lines;
      },
      enter(leaf) {
        highlight(regions[leaf.i], true);
      },
      leave(leaf) {
        highlight(regions[leaf.i], false);
      },
      legend: legend(kinds, present),
      onZoom(key) {
        if (drill && drill.has(key)) drill.open(key, null);
      },
    });
    // The sections and symbols of `report --symbols`, when the page has them.
    const symEl = $('elfmaps-symbols');
    drill = symEl ? symbolsSection(JSON.parse(symEl.textContent)) : null;

    mark('treemap');
    // The strip.
    const { s: stripSec, bar: stripBar } = section('Address space');
    stripBar.append(el('span', 'note', 'every region in address order, rows left to right; width grows with the logarithm of the size; unmapped holes are compressed to a fixed mark'));
    const strip = el('div', 'strip');
    stripSec.append(strip, legend(kinds, present, [['hole', 'unmapped (compressed)']]));
    const STRIP = { gutter: 0, rowH: 14, gap: 4, hole: 7, objGap: 2 };
    function cellWidth(size) {
      return 3 + 3 * Math.log2(Math.max(1, size / d.page_size));
    }
    let natural = 0;
    for (const r of regions) natural += cellWidth(r.size) + STRIP.objGap;
    function drawStrip() {
      strip.textContent = '';
      cellsOf.clear();
      const longest = n ? hex(regions[n - 1].start).length : 8;
      STRIP.gutter = Math.ceil(longest * 6.2) + 10;
      const W = Math.max(120, strip.clientWidth - STRIP.gutter);
      // A process of a few regions fills one row rather than its first tenth.
      const stretch = Math.min(5, Math.max(1, (0.95 * W) / (natural + 1)));
      const frag = document.createDocumentFragment();
      let x = 0;
      let row = 0;
      let rowStarted = false;
      const rowAddr = (addr) => {
        const a = el('span', 'row-addr addr', hex(addr));
        a.style.top = row * (STRIP.rowH + STRIP.gap) + 2 + 'px';
        frag.append(a);
        rowStarted = true;
      };
      const place = (w, addr) => {
        if (x + w > W && x > 0) {
          row++;
          x = 0;
          rowStarted = false;
        }
        if (!rowStarted) rowAddr(addr);
        const at = x;
        x += w;
        return [STRIP.gutter + at, row * (STRIP.rowH + STRIP.gap)];
      };
      for (let i = 0; i < n; i++) {
        const r = regions[i];
        if (i > 0) {
          const prev = regions[i - 1];
          if (r.start > prev.end) {
            const h = el('div', 'hole');
            const [hx, hy] = place(STRIP.hole, prev.end);
            pos(h, hx, hy, STRIP.hole, STRIP.rowH);
            h.dataset.from = i - 1;
            frag.append(h);
          } else if (objectOf(r) !== objectOf(prev)) {
            x += STRIP.objGap;
          }
        }
        const w = stretch * cellWidth(r.size);
        const c = el('div', 'cell k-' + r.kind);
        const [cx, cy] = place(w, r.start);
        pos(c, cx, cy, w, STRIP.rowH);
        c.dataset.i = i;
        frag.append(c);
        const key = objectOf(r);
        if (!cellsOf.has(key)) cellsOf.set(key, []);
        cellsOf.get(key).push(c);
      }
      strip.style.height = (row + 1) * (STRIP.rowH + STRIP.gap) + 'px';
      strip.append(frag);
    }
    function highlight(r, on) {
      for (const c of cellsOf.get(objectOf(r)) || []) c.classList.toggle('hl', on);
      const g = r.object != null ? tmGroups.get(r.object) : null;
      if (g && g.el) g.el.classList.toggle('hl', on);
    }
    hover(strip, (t) => {
      if (t.dataset.i != null) return regionTip(+t.dataset.i);
      if (t.dataset.from != null) {
        const a = regions[+t.dataset.from];
        const b = regions[+t.dataset.from + 1];
        return ['unmapped', `${hex(a.end)}–${hex(b.start)} · ${human(b.start - a.end)}`];
      }
      return null;
    }, (t) => t.dataset.i != null && highlight(regions[+t.dataset.i], true),
    (t) => t.dataset.i != null && highlight(regions[+t.dataset.i], false));
    drawStrip();
    mark('strip');

    // The table: rows per object and kind (as `summary`), per object, or per kind
    // (as `summary --by kind`).
    function summarize(by) {
      const rows = new Map();
      for (const r of regions) {
        const object = by === 'kind' ? null : r.object;
        const kind = by === 'object' ? null : r.kind;
        const key = JSON.stringify([object, kind]);
        let row = rows.get(key);
        if (!row) {
          row = { object, kind, regions: 0, f: zero() };
          rows.set(key, row);
        }
        row.regions++;
        add(row.f, r);
      }
      return [...rows.values()].sort((a, b) => (a.object || '').localeCompare(b.object || '') || (a.kind || '').localeCompare(b.kind || ''));
    }
    const summaries = {};
    const rowsOf = (mode) => {
      if (!summaries[mode]) {
        summaries[mode] = summarize(mode).map((r) => Object.assign(r, {
          text: (r.object != null ? r.object : '-') + ' ' + (r.kind || ''),
        }));
      }
      return summaries[mode];
    };
    const fig = (key, label) => ({
      key, label, num: true, value: (r) => r.f[key],
      cell: (r) => [human(r.f[key]), 'num' + (r.f[key] == null ? ' unknown' : '')],
    });
    tableSection({
      title: 'Objects and kinds',
      modes: [['both', 'object and kind'], ['object', 'object'], ['kind', 'kind']],
      mode: 'both',
      sortKey: initial,
      columns(mode) {
        const cols = [];
        if (mode !== 'kind') {
          cols.push({ key: 'object', label: 'Object', value: (r) => (r.object == null ? '' : shortName(r.object).toLowerCase()),
            cell: (r) => [r.object == null ? '-' : shortName(r.object), 'obj'] });
        }
        if (mode !== 'object') {
          cols.push({ key: 'kind', label: 'Kind', value: (r) => r.kind, cell: (r) => [r.kind, null, r.kind] });
        }
        cols.push({ key: 'regions', label: 'Regions', num: true, value: (r) => r.regions, cell: (r) => [String(r.regions), 'num'] });
        cols.push(fig('size', 'Size'), fig('rss', 'RSS'), fig('pss', 'PSS'), fig('private_dirty', 'Private dirty'), fig('swap', 'Swap'));
        // The share of the process's figure the page sorts by (as the terminal: pss,
        // else rss, else size).
        cols.push({ key: 'share', label: '% ' + initialName, num: true, value: (r) => r.f[initial],
          cell: (r) => [share(r.f[initial], t[initial]), 'num'] });
        return cols;
      },
      rows: rowsOf,
      footer(shown, all, mode) {
        const lead = mode === 'both' ? 2 : 1;
        const line = (label, regionsCount, f) => {
          const cells = [[label, null]];
          for (let i = 1; i < lead; i++) cells.push(['', null]);
          cells.push([String(regionsCount), 'num']);
          for (const k of ['size', 'rss', 'pss', 'private_dirty', 'swap']) cells.push([human(f[k]), 'num' + (f[k] == null ? ' unknown' : '')]);
          cells.push([share(f[initial], t[initial]), 'num']);
          return cells;
        };
        const sum = zero();
        let count = 0;
        for (const r of shown) {
          add(sum, r.f);
          count += r.regions;
        }
        const lines = [];
        if (shown.length !== all.length) lines.push(line(`${shown.length} rows shown`, count, sum));
        lines.push(line('(total)', n, t));
        return lines;
      },
    });

    mark('table');
    if (d.warnings.length) {
      const { s } = section('Warnings');
      const ul = el('ul', 'names');
      for (const w of d.warnings) {
        const li = el('li');
        li.append(el('code', null, w.code), ' ');
        if (w.object != null) li.append(display(w.object) + ': ');
        li.append(display(w.message));
        ul.append(li);
      }
      s.append(ul);
    }

    onWidth(strip, drawStrip);
    onWidth(tm.box, tm.redraw);

    return function selfCheck() {
      // The strip: its cells, in the order the page shows them (rows top to bottom,
      // each left to right), name every region once, in address order.
      const cells = [...strip.querySelectorAll('.cell')];
      let visual = true;
      let last = [-1, -1];
      const order = [];
      for (const c of cells) {
        const b = c.getBoundingClientRect();
        const at = [Math.round(b.top), b.left];
        if (at[0] < last[0] || (at[0] === last[0] && at[1] <= last[1])) visual = false;
        last = at;
        order.push(+c.dataset.i);
      }
      const sums = {};
      for (const m of ['both', 'object', 'kind']) {
        sums[m] = rowsOf(m).map((r) => Object.assign({ object: r.object, kind: r.kind, regions: r.regions }, r.f));
      }
      const total = zero();
      for (const r of regions) add(total, r);
      return {
        regions: n,
        strip: {
          cells: cells.length,
          starts: order.map((i) => hex(regions[i].start)),
          in_order: order.every((v, k) => v === k),
          visual_order: visual,
        },
        treemap: tm.check(),
        exercise: tm.exercise(),
        symbols: drill ? drill.exercise((path) => tm.zoomTo(path)) : null,
        table: sums,
        totals_match: FIGURES.every((k) => total[k] === (t[k] === undefined ? null : t[k])),
      };
    };
  }

  // --------------------------------------------------------------- diff page

  function diffPage(d, kinds) {
    const changes = d.changes;
    const initial = ['pss', 'rss', 'size'].find((m) => changes.some((c) => c[m])) || 'size';
    const sum = (key, sign) => changes.reduce((acc, c) => (c[key] != null && Math.sign(c[key]) === sign ? acc + c[key] : acc), 0);
    const figure = { pss: 'PSS', rss: 'RSS', size: 'size' }[initial];
    facts([['', `${d.old_format} → ${d.new_format}`], ['changed', String(changes.length)],
      [`${figure} grew`, human(sum(initial, 1))], ['shrank', human(-sum(initial, -1))],
      ['appeared', String(d.appeared.length)], ['vanished', String(d.vanished.length)],
      ['rebuilt', String(d.rebuilt.length)]]);
    const present = new Set(changes.map((c) => c.kind));
    const name = (o) => (o == null ? '-' : display(o));
    const cls = (v) => (v > 0 ? 'grew' : v < 0 ? 'shrank' : '');
    function changeTip(c) {
      const a = c.old || {};
      const b = c.new || {};
      return [`${name(c.object)} · ${c.kind}`,
        `size ${human(a.size)} → ${human(b.size)} (${signed(c.size)})`,
        `RSS ${human(a.rss)} → ${human(b.rss)} (${signed(c.rss)})`,
        `PSS ${human(a.pss)} → ${human(b.pss)} (${signed(c.pss)})`,
        c.old == null ? 'not in OLD' : c.new == null ? 'not in NEW' : ''].filter(Boolean);
    }
    const tm = treemapSection({
      title: 'What changed: object, kind',
      initial,
      height: Math.round(Math.min(560, Math.max(320, window.innerWidth * 0.36))),
      levels: ['obj'],
      build(metric) {
        const objs = new Map();
        const unknown = { count: 0, size: 0 };
        let total = 0;
        changes.forEach((c, i) => {
          const v = c[metric];
          if (v == null) {
            unknown.count++;
            return;
          }
          if (!v) return;
          const key = c.object == null ? '' : c.object;
          let o = objs.get(key);
          if (!o) {
            o = { key, order: key, label: c.object == null ? 'memory of no object' : display(c.object), value: 0, net: 0, children: [] };
            objs.set(key, o);
          }
          o.children.push({ i, order: c.kind, value: Math.abs(v), cls: cls(v), parent: o, label: `${c.kind} ${signed(v)}` });
          o.value += Math.abs(v);
          o.net += v;
          total += Math.abs(v);
        });
        const root = { children: [...objs.values()] };
        for (const o of root.children) o.sub = signed(o.net);
        return { root, total, unknown };
      },
      explain(b, label) {
        const parts = [`Areas are proportional to the change in ${label}, grown and shrunk alike; ${human(b.total)} of change in all.`];
        if (b.unknown.count) parts.push(`The change in ${label} is unknown for ${b.unknown.count} row${b.unknown.count === 1 ? '' : 's'} (a figure unknown in OLD or NEW): they are not drawn.`);
        if (!b.total && !b.unknown.count) parts.push(`Nothing changed in ${label}.`);
        return parts.join(' ');
      },
      tip: (leaf) => changeTip(changes[leaf.i]),
      legend: legend([], new Set(), [['grew', 'grew'], ['shrank', 'shrank']]),
    });
    const delta = (key, label) => ({
      key: 'd' + key, label, num: true, value: (c) => c[key],
      cell: (c) => [signed(c[key]), 'num ' + (c[key] == null ? 'unknown' : cls(c[key]))],
    });
    const after = (key, label) => ({
      key: 'n' + key, label, num: true, value: (c) => (c.new ? c.new[key] : 0),
      cell: (c) => [c.new ? human(c.new[key]) : '0', 'num'],
    });
    const rows = changes.map((c) => Object.assign({ text: (c.object || '-') + ' ' + c.kind }, c));
    tableSection({
      title: 'Changes (largest first, as elfmaps diff prints them, until a column is chosen)',
      sortKey: null,
      columns: () => [
        { key: 'object', label: 'Object', value: (c) => (c.object || '').toLowerCase(), cell: (c) => [name(c.object), 'obj'] },
        { key: 'kind', label: 'Kind', value: (c) => c.kind, cell: (c) => [c.kind, null, present.has(c.kind) && kinds.includes(c.kind) ? c.kind : null] },
        delta('size', 'Δ Size'), delta('rss', 'Δ RSS'), delta('pss', 'Δ PSS'),
        after('size', 'New size'), after('rss', 'New RSS'), after('pss', 'New PSS'),
      ],
      rows: () => rows,
      footer(shown) {
        const total = { size: 0, rss: 0, pss: 0 };
        for (const c of shown) for (const k in total) total[k] = addOne(total[k], c[k]);
        const cells = [[`${shown.length} changes`, null], ['', null]];
        for (const k of ['size', 'rss', 'pss']) cells.push([signed(total[k]), 'num ' + (total[k] == null ? 'unknown' : cls(total[k]))]);
        cells.push(['', null], ['', null], ['', null]);
        return [cells];
      },
    });
    for (const [title, names] of [['Appeared (only in NEW)', d.appeared], ['Vanished (only in OLD)', d.vanished], ['Rebuilt (another build ID)', d.rebuilt]]) {
      if (!names.length) continue;
      const { s } = section(title);
      const ul = el('ul', 'names mono');
      for (const x of names) ul.append(el('li', null, display(x)));
      s.append(ul);
    }
    onWidth(tm.box, tm.redraw);
    return () => ({ changes: changes.length, treemap: tm.check() });
  }

  // ------------------------------------------------------------- system page

  // The whole machine (`system --json`): rows per (object, kind) summed across
  // processes. There is no strip: each process has its own address space.
  function systemPage(d, kinds) {
    const t = d.totals;
    const procs = d.processes;
    const sk = d.skipped;
    const skipped = sk.exited + sk.denied + sk.kernel_threads + sk.zombies + (sk.failed || 0);
    const parts = [['', d.source === 'live' ? 'this machine, live' : `saved (${d.source})`],
      ['page size', human(d.page_size)], ['processes', String(procs.length)],
      ['objects', String(d.objects.filter((o) => o.object != null).length)],
      ['size', human(t.size)], ['RSS', human(t.rss)], ['PSS', human(t.pss)], ['swap', human(t.swap)]];
    if (skipped) parts.push(['skipped', String(skipped)]);
    if (d.split_pss) parts.push(['split PSS', d.split_pss]);
    if (d.warnings.length) parts.push(['warnings', String(d.warnings.length)]);
    facts(parts);
    const present = new Set(d.rows.map((r) => r.kind));
    // An object is its file's identity (device, inode, build ID), as the CLI keys it.
    const objectKey = (r) => (r.object == null ? '' : JSON.stringify([r.object, r.dev, r.inode, r.build_id]));
    const objName = (o) => (o == null ? '-' : shortName(o));
    const uss = (r) => addOne(r.private_clean, r.private_dirty);
    const initial = ['pss', 'rss', 'size'].find((m) => d.rows.some((r) => r[m] > 0)) || 'size';

    const note = section('No address-space strip').s;
    note.append(el('p', 'note', 'A system report sums each object and kind over every process that maps it; a machine has no one address space to draw in address order. The strip of one process is in its own report: elfmaps report PID.'));

    const tm = treemapSection({
      title: 'Treemap: object, kind, across processes',
      initial,
      height: Math.round(Math.min(620, Math.max(360, window.innerWidth * 0.42))),
      levels: ['obj'],
      build(metric) {
        const objs = new Map();
        const unknown = { count: 0, size: 0 };
        let total = 0;
        d.rows.forEach((r, i) => {
          const key = objectKey(r);
          let o = objs.get(key);
          if (!o) {
            o = { key, order: key, label: r.object == null ? 'memory of no object' : shortName(r.object),
              value: 0, sum: 0, children: [] };
            objs.set(key, o);
          }
          const v = r[metric];
          o.sum = addOne(o.sum, v);
          if (v == null) {
            unknown.count++;
            unknown.size += r.size || 0;
            return;
          }
          if (!(v > 0)) return;
          o.children.push({ i, order: r.kind, value: v, cls: 'k-' + r.kind, parent: o, label: `${r.kind} ${human(v)}` });
          o.value += v;
          total += v;
        });
        const root = { children: [] };
        for (const o of objs.values()) {
          o.sub = human(o.value) + (o.sum == null ? ' + ?' : '');
          if (o.value > 0) root.children.push(o);
        }
        return { root, total, unknown };
      },
      explain(b, name) {
        const parts = [`Areas are proportional to ${name}, summed over the ${procs.length} process${procs.length === 1 ? '' : 'es'} read; ${human(b.total)} in all.`];
        if (b.unknown.count) parts.push(`${name} is unknown for ${b.unknown.count} row${b.unknown.count === 1 ? '' : 's'}: they are not drawn, and their objects show their known part followed by "+ ?".`);
        return parts.join(' ');
      },
      tip(leaf, metric, total) {
        const r = d.rows[leaf.i];
        const name = metric === 'size' ? 'size' : metric.toUpperCase();
        return [r.object == null ? `memory of no object · ${r.kind}` : `${display(r.object)} · ${r.kind}`,
          `${r.processes} process${r.processes === 1 ? '' : 'es'}, ${r.regions} region${r.regions === 1 ? '' : 's'}`,
          `size ${human(r.size)} · RSS ${human(r.rss)} · PSS ${human(r.pss)} · USS ${human(uss(r))} · swap ${human(r.swap)}`,
          r.build_id ? `build ID ${r.build_id}` : '',
          `${leaf.parent.label}: ${name} ${leaf.parent.sub}${pct(leaf.parent.value, total)}`].filter(Boolean);
      },
      legend: legend(kinds, present),
    });
    mark('treemap');

    const fig = (key, label) => ({
      key, label, num: true, value: (r) => r[key],
      cell: (r) => [human(r[key]), 'num' + (r[key] == null ? ' unknown' : '')],
    });
    const ussCol = { key: 'uss', label: 'USS', num: true, value: uss,
      cell: (r) => [human(uss(r)), 'num' + (uss(r) == null ? ' unknown' : '')] };
    const SHOWN = ['size', 'rss', 'pss', 'uss', 'private_dirty', 'swap'];
    const sumOf = (rows) => {
      const f = zero();
      for (const r of rows) add(f, r);
      return f;
    };
    // Per object, memory of no object is one more row, "-" (the CLI leaves it out of
    // `objects` and counts it in the machine's total); how many processes have some
    // is not in the data.
    const none = d.rows.filter((r) => r.object == null);
    const objects = d.objects.slice();
    if (none.length) {
      objects.push(Object.assign({ object: null, build_id: null, dev: null, inode: null, kind: null, processes: null,
        regions: none.reduce((a, r) => a + r.regions, 0) }, sumOf(none)));
    }
    const rowsOf = {};
    for (const [mode, list] of [['both', d.rows], ['object', objects], ['kind', d.kinds]]) {
      rowsOf[mode] = list.map((r) => Object.assign({ text: (r.object != null ? r.object : '-') + ' ' + (r.kind || '') }, r));
    }
    tableSection({
      title: 'Objects and kinds, across processes',
      modes: [['both', 'object and kind'], ['object', 'object'], ['kind', 'kind']],
      mode: 'both',
      sortKey: initial,
      columns(mode) {
        const cols = [];
        if (mode !== 'kind') {
          cols.push({ key: 'object', label: 'Object', value: (r) => (r.object == null ? '' : shortName(r.object).toLowerCase()),
            cell: (r) => [objName(r.object), 'obj'] });
        }
        if (mode !== 'object') {
          cols.push({ key: 'kind', label: 'Kind', value: (r) => r.kind, cell: (r) => [r.kind, null, r.kind] });
        }
        cols.push({ key: 'processes', label: 'Processes', num: true, value: (r) => r.processes, cell: (r) => [r.processes == null ? '-' : String(r.processes), 'num'] });
        cols.push({ key: 'regions', label: 'Regions', num: true, value: (r) => r.regions, cell: (r) => [String(r.regions), 'num'] });
        cols.push(fig('size', 'Size'), fig('rss', 'RSS'), fig('pss', 'PSS'), ussCol, fig('private_dirty', 'Private dirty'), fig('swap', 'Swap'));
        return cols;
      },
      rows: (mode) => rowsOf[mode],
      footer(shown, all, mode) {
        const lead = mode === 'both' ? 2 : 1;
        const line = (label, regionsCount, f) => {
          const cells = [[label, null]];
          for (let i = 1; i < lead; i++) cells.push(['', null]);
          cells.push(['', null], [regionsCount == null ? '' : String(regionsCount), 'num']);
          for (const k of SHOWN) {
            const v = k === 'uss' ? uss(f) : f[k];
            cells.push([human(v), 'num' + (v == null ? ' unknown' : '')]);
          }
          return cells;
        };
        const lines = [];
        if (shown.length !== all.length) lines.push(line(`${shown.length} rows shown`, shown.reduce((a, r) => a + r.regions, 0), sumOf(shown)));
        lines.push(line(`machine (${procs.length} processes)`, all.reduce((a, r) => a + r.regions, 0), t));
        return lines;
      },
    });
    mark('table');

    const procRows = procs.map((p) => Object.assign({ text: `${p.pid} ${p.comm} ${p.command || ''}` }, p));
    tableSection({
      title: 'Processes',
      sortKey: initial,
      placeholder: 'filter: PID, name or command line',
      columns: () => [
        { key: 'pid', label: 'PID', num: true, value: (p) => p.pid, cell: (p) => [String(p.pid), 'num'] },
        { key: 'comm', label: 'Name', value: (p) => p.comm, cell: (p) => [display(p.comm), 'obj'] },
        { key: 'command', label: 'Command line', value: (p) => p.command || '', cell: (p) => [display(p.command || ''), 'obj'] },
        { key: 'objects', label: 'Objects', num: true, value: (p) => p.objects, cell: (p) => [String(p.objects), 'num'] },
        { key: 'regions', label: 'Regions', num: true, value: (p) => p.regions, cell: (p) => [String(p.regions), 'num'] },
        fig('size', 'Size'), fig('rss', 'RSS'), fig('pss', 'PSS'), ussCol, fig('private_dirty', 'Private dirty'), fig('swap', 'Swap'),
      ],
      rows: () => procRows,
      footer(shown, all) {
        const line = (label, f) => {
          const cells = [[label, null], ['', null], ['', null], ['', null], ['', null]];
          for (const k of SHOWN) {
            const v = k === 'uss' ? uss(f) : f[k];
            cells.push([human(v), 'num' + (v == null ? ' unknown' : '')]);
          }
          return cells;
        };
        const lines = [];
        if (shown.length !== all.length) lines.push(line(`${shown.length} shown`, sumOf(shown)));
        lines.push(line('machine (total)', t));
        return lines;
      },
    });

    if (skipped || d.warnings.length) {
      const { s } = section('Skipped and warnings');
      const ul = el('ul', 'names');
      if (skipped) ul.append(el('li', null, `skipped: ${sk.exited} exited, ${sk.denied} denied, ${sk.kernel_threads} kernel threads, ${sk.zombies} zombies, ${sk.failed || 0} failed`));
      for (const w of d.warnings) {
        const li = el('li');
        li.append(el('code', null, w.code), ' ');
        if (w.object != null) li.append(display(w.object) + ': ');
        li.append(display(w.message));
        ul.append(li);
      }
      s.append(ul);
    }
    onWidth(tm.box, tm.redraw);

    return function selfCheck() {
      const same = (f) => FIGURES.every((k) => (f[k] === undefined ? null : f[k]) === (t[k] === undefined ? null : t[k]));
      return {
        processes: procs.length,
        rows: d.rows.length,
        treemap: tm.check(),
        // The page's sums of the rows, of the objects, of the kinds and of the
        // processes, each against the machine's total.
        table: {
          both: rowsOf.both.length,
          object: rowsOf.object.length,
          kind: rowsOf.kind.length,
        },
        totals_match: {
          rows: same(sumOf(d.rows)),
          objects: same(sumOf(objects)),
          kinds: same(sumOf(d.kinds)),
          processes: same(sumOf(procs)),
        },
      };
    };
  }

  // ------------------------------------------------------------------- main

  // Runs `f` when the width of `elem` changes (the window is resized, a scroll bar
  // comes or goes), once per frame at most, outside the observer's callback (whose
  // changes to the page would be an error of their own).
  function onWidth(elem, f) {
    let width = elem.clientWidth;
    let queued = false;
    new ResizeObserver(() => {
      if (queued || elem.clientWidth === width) return;
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        width = elem.clientWidth;
        f();
      });
    }).observe(elem);
  }

  try {
    const page = document.documentElement.dataset.page;
    check.page = page;
    const kinds = JSON.parse($('elfmaps-kinds').textContent);
    const data = JSON.parse($('elfmaps-data').textContent);
    mark('parsed');
    $('app').textContent = '';
    const views = { map: mapPage, diff: diffPage, system: systemPage };
    if (!views[page]) throw new Error(`no view for a page of kind ${page}`);
    const selfCheck = views[page](data, kinds);
    // Layout now, so that the time includes it.
    void document.body.offsetHeight;
    check.script_ms = performance.now() - t0;
    check.marks = marks;
    check.since_navigation_ms = performance.now();
    Object.assign(check, selfCheck());
    // Every kind's colour as the browser computes it (tests/html.rs checks that
    // every pair is at least ΔE 10 apart, CIEDE2000).
    const probe = el('div');
    probe.style.position = 'absolute';
    probe.style.visibility = 'hidden';
    document.body.append(probe);
    check.colours = kinds.map((k) => {
      const sw = swatch(k);
      probe.append(sw);
      return [k, getComputedStyle(sw).backgroundColor];
    });
    for (const cls of ['grew', 'shrank']) {
      const sw = el('span', 'sw ' + cls);
      probe.append(sw);
      check.colours.push([cls, getComputedStyle(sw).backgroundColor]);
    }
    probe.remove();
    check.check_ms = performance.now() - t0 - check.script_ms;
  } catch (e) {
    caught(`exception: ${e && e.stack ? e.stack : e}`);
    $('app').append(el('p', 'warn', `This report could not be drawn: ${e}`));
  }
  writeCheck();
})();

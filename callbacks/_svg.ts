// A small SVG line-chart renderer (no dependencies): panels with axes, ticks, labels,
// an optional log x-axis, lines and marked points.

/** An SVG picture: `svg` is the markup; in Deno's Jupyter kernel it displays as an image. */
export interface SvgPlot {
  /** The SVG markup. */
  readonly svg: string;
  /** The SVG markup. */
  toString(): string;
}

/** One line (or set of dots) of a panel. */
export interface _Series {
  readonly x: readonly number[];
  readonly y: readonly number[];
  readonly label: string;
  readonly dots?: boolean;
}

/** A labelled point drawn on a panel. */
export interface _Marker {
  readonly x: number;
  readonly y: number;
  readonly label: string;
}

/** One chart. */
export interface _Panel {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly logX?: boolean;
  readonly series: readonly _Series[];
  readonly markers?: readonly _Marker[];
}

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];
const MARKER_COLORS = ["#d62728", "#2ca02c", "#9467bd", "#8c564b"];

/** Marker `i`'s symbol (circle, square, triangle, diamond) centred on (x, y). */
function _symbol(
  i: number,
  x: number,
  y: number,
  r: number,
  color: string,
  filled: boolean,
): string {
  const paint = filled ? `fill="${color}"` : `fill="none" stroke="${color}" stroke-width="2"`;
  const f = (v: number) => v.toFixed(1);
  switch (i % 4) {
    case 0:
      return `<circle cx="${f(x)}" cy="${f(y)}" r="${r}" ${paint}/>`;
    case 1:
      return `<rect x="${f(x - r)}" y="${f(y - r)}" width="${2 * r}" height="${2 * r}" ${paint}/>`;
    case 2:
      return `<path d="M${f(x)},${f(y - r)}L${f(x + r)},${f(y + r)}L${f(x - r)},${
        f(y + r)
      }Z" ${paint}/>`;
    default:
      return `<path d="M${f(x)},${f(y - r)}L${f(x + r)},${f(y)}L${f(x)},${f(y + r)}L${f(x - r)},${
        f(y)
      }Z" ${paint}/>`;
  }
}
const W = 480;
const H = 320;
const M = { left: 64, right: 16, top: 32, bottom: 48 };

const esc = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function _niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

/** Ticks for [lo, hi]: nice linear steps, or powers of ten on a log axis. */
export function _ticks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.ceil(Math.log10(lo) - 1e-9); e <= Math.floor(Math.log10(hi) + 1e-9); e++) {
      out.push(10 ** e);
    }
    return out.length > 0 ? out : [lo, hi];
  }
  if (hi === lo) return [lo];
  const step = _niceStep(hi - lo, 5);
  const out: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) {
    out.push(Number((k * step).toPrecision(12)));
  }
  return out;
}

function _label(v: number, log: boolean): string {
  if (log) return `1e${Math.round(Math.log10(v))}`;
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(1);
  return Number(v.toPrecision(4)).toString();
}

function _extent(values: number[], log: boolean): [number, number] {
  const ok = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  if (ok.length === 0) return log ? [1, 10] : [0, 1];
  let lo = Math.min(...ok);
  let hi = Math.max(...ok);
  if (lo === hi) {
    if (log) [lo, hi] = [lo / 2, hi * 2];
    else [lo, hi] = [lo - (Math.abs(lo) || 1) * 0.1, hi + (Math.abs(hi) || 1) * 0.1];
  }
  // a little room so that points on the edges are not cut by the frame
  if (log) return [lo / (hi / lo) ** 0.03, hi * (hi / lo) ** 0.03];
  const pad = (hi - lo) * 0.03;
  return [lo - pad, hi + pad];
}

function _panel(p: _Panel, ox: number, oy: number): string {
  const log = p.logX ?? false;
  const xs = p.series.flatMap((s) => [...s.x]).concat((p.markers ?? []).map((m) => m.x));
  const ys = p.series.flatMap((s) => [...s.y]).concat((p.markers ?? []).map((m) => m.y));
  const [x0, x1] = _extent(xs, log);
  const [y0, y1] = _extent(ys, false);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const tx = log
    ? (v: number) =>
      ox + M.left + (Math.log10(v) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0)) * pw
    : (v: number) => ox + M.left + (v - x0) / (x1 - x0) * pw;
  const ty = (v: number) => oy + M.top + ph - (v - y0) / (y1 - y0) * ph;
  const parts: string[] = [];
  parts.push(
    `<text x="${ox + W / 2}" y="${oy + 20}" text-anchor="middle" font-size="14">${
      esc(p.title)
    }</text>`,
    `<rect x="${ox + M.left}" y="${
      oy + M.top
    }" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
  );
  for (const t of _ticks(x0, x1, log)) {
    const x = tx(t).toFixed(1);
    parts.push(
      `<line x1="${x}" y1="${oy + M.top + ph}" x2="${x}" y2="${
        oy + M.top + ph + 5
      }" stroke="#333"/>`,
      `<text x="${x}" y="${oy + M.top + ph + 18}" text-anchor="middle" font-size="11">${
        _label(t, log)
      }</text>`,
    );
  }
  for (const t of _ticks(y0, y1, false)) {
    const y = ty(t).toFixed(1);
    parts.push(
      `<line x1="${ox + M.left - 5}" y1="${y}" x2="${ox + M.left}" y2="${y}" stroke="#333"/>`,
      `<text x="${
        ox + M.left - 8
      }" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${
        _label(t, false)
      }</text>`,
    );
  }
  parts.push(
    `<text x="${ox + M.left + pw / 2}" y="${oy + H - 8}" text-anchor="middle" font-size="12">${
      esc(p.xLabel)
    }</text>`,
    `<text transform="translate(${ox + 16},${
      oy + M.top + ph / 2
    }) rotate(-90)" text-anchor="middle" font-size="12">${esc(p.yLabel)}</text>`,
  );
  const plotted: [number, number][] = [];
  p.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const pts: string[] = [];
    let path = "";
    for (let k = 0; k < s.x.length; k++) {
      const x = s.x[k]!;
      const y = s.y[k]!;
      if (!Number.isFinite(x) || !Number.isFinite(y) || (log && x <= 0)) {
        path += " ";
        continue;
      }
      const px = tx(x).toFixed(1);
      const py = ty(y).toFixed(1);
      plotted.push([Number(px), Number(py)]);
      if (s.dots) pts.push(`<circle cx="${px}" cy="${py}" r="3" fill="${color}"/>`);
      else path += `${path === "" || path.endsWith(" ") ? "M" : "L"}${px},${py}`;
    }
    if (path.trim()) {
      parts.push(`<path d="${path.trim()}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    }
    parts.push(...pts);
  });
  const markers = (p.markers ?? []).filter((m) => Number.isFinite(m.x) && Number.isFinite(m.y));
  markers.forEach((m, i) => {
    const px = tx(m.x);
    const py = ty(m.y);
    plotted.push([px, py]);
    parts.push(_symbol(i, px, py, 5, MARKER_COLORS[i % MARKER_COLORS.length]!, false));
  });
  // the legend: only when there is more than one thing to tell apart, in the corner that
  // hides the fewest points; a series of dots shows a dot, a marker its symbol
  const entries = [
    ...p.series.map((s, i) => ({
      label: s.label,
      draw: (x: number, y: number) => {
        const color = COLORS[i % COLORS.length]!;
        return s.dots
          ? `<circle cx="${(x + 8).toFixed(1)}" cy="${y}" r="3" fill="${color}"/>`
          : `<line x1="${x}" y1="${y}" x2="${
            x + 16
          }" y2="${y}" stroke="${color}" stroke-width="2"/>`;
      },
    })),
    ...markers.map((m, i) => ({
      label: m.label,
      draw: (x: number, y: number) =>
        _symbol(i, x + 8, y, 4, MARKER_COLORS[i % MARKER_COLORS.length]!, true),
    })),
  ];
  if (entries.length > 1 || markers.length > 0) {
    const width = 26 + 6.5 * Math.max(...entries.map((e) => e.label.length));
    const height = 14 * entries.length + 6;
    const left = ox + M.left + 6;
    const right = ox + M.left + pw - 6 - width;
    const top = oy + M.top + 6;
    const bottom = oy + M.top + ph - 6 - height;
    const corners: [number, number][] = [[right, top], [left, top], [right, bottom], [
      left,
      bottom,
    ]];
    const hidden = ([x, y]: [number, number]): number =>
      plotted.filter(([a, b]) => a >= x && a <= x + width && b >= y && b <= y + height).length;
    const [lx, ly] = corners.reduce((best, c) => (hidden(c) < hidden(best) ? c : best));
    parts.push(
      `<rect x="${lx.toFixed(1)}" y="${ly.toFixed(1)}" width="${
        width.toFixed(1)
      }" height="${height}" ` +
        `fill="white" fill-opacity="0.85" stroke="#ccc"/>`,
    );
    entries.forEach((e, i) => {
      const y = Number((ly + 10 + i * 14).toFixed(1));
      const x = Number((lx + 5).toFixed(1));
      parts.push(
        e.draw(x, y),
        `<text x="${x + 21}" y="${y}" dominant-baseline="middle" font-size="11">${
          esc(e.label)
        }</text>`,
      );
    });
  }
  return parts.join("\n");
}

/** Lays panels out side by side as one SVG picture. */
export function _figure(panels: readonly _Panel[]): SvgPlot {
  const width = W * panels.length;
  const body = panels.map((p, i) => _panel(p, i * W, 0)).join("\n");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H}" ` +
    `viewBox="0 0 ${width} ${H}" font-family="sans-serif">\n` +
    `<rect width="${width}" height="${H}" fill="white"/>\n${body}\n</svg>\n`;
  const plot = { svg, toString: (): string => svg };
  Object.defineProperty(plot, Symbol.for("Jupyter.display"), {
    value: () => ({ "image/svg+xml": svg }),
  });
  return plot;
}

// The parallel-coordinates SVG (no dependencies).
import type { Direction, TrialRecord } from "./types.ts";

const esc = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Viridis-like ramp: t = 0 dark blue (best) … 1 yellow (worst). */
const STOPS = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];
function color(t: number): string {
  const x = Math.min(1, Math.max(0, t)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const c = STOPS[i]!.map((v, k) => Math.round(v + (STOPS[i + 1]![k]! - v) * f));
  return `rgb(${c.join(",")})`;
}

function fmt(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-2 ? v.toExponential(1) : Number(v.toPrecision(3)).toString();
}

interface Axis {
  readonly name: string;
  readonly label: string;
  /** Position 0 (bottom) … 1 (top) of a value. */
  readonly pos: (v: unknown) => number | undefined;
  readonly ticks: readonly { readonly at: number; readonly text: string }[];
}

function numericAxis(name: string, values: number[], label = name): Axis {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const log = lo > 0 && hi / lo > 100;
  const f = (v: number) => (log ? Math.log10(v) : v);
  const span = f(hi) - f(lo) || 1;
  const pos = (v: unknown) =>
    typeof v === "number" && Number.isFinite(v) ? (f(v) - f(lo)) / span : undefined;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) => {
    const v = log ? 10 ** (f(lo) + t * span) : lo + t * (hi - lo);
    return { at: t, text: fmt(v) };
  });
  return { name, label: log ? `${label} (log)` : label, pos, ticks };
}

function categoryAxis(name: string, values: unknown[]): Axis {
  const keys = [...new Set(values.map((v) => JSON.stringify(v)))];
  const numeric = values.every((v) => typeof v === "number");
  keys.sort((a, b) => (numeric ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0));
  const at = (k: string) => (keys.length === 1 ? 0.5 : keys.indexOf(k) / (keys.length - 1));
  return {
    name,
    label: name,
    pos: (v) => {
      const k = JSON.stringify(v);
      return keys.includes(k) ? at(k) : undefined;
    },
    ticks: keys.map((k) => {
      const v = JSON.parse(k) as unknown;
      return { at: at(k), text: typeof v === "string" ? v : typeof v === "number" ? fmt(v) : k };
    }),
  };
}

/** The SVG markup of the parallel-coordinates plot of `trials`. */
export function parallelCoordinatesSvg(
  trials: readonly TrialRecord[],
  direction: Direction,
): string {
  const ok = trials.filter((t) =>
    t.status !== "failed" && t.objective !== null && Number.isFinite(t.objective)
  );
  const failed = trials.length - ok.length;
  const names = [...new Set(ok.flatMap((t) => Object.keys(t.params)))].filter((n) =>
    new Set(ok.map((t) => JSON.stringify(t.params[n]))).size > 1
  );
  const axes: Axis[] = names.map((n) => {
    const vs = ok.map((t) => t.params[n]);
    // a number with few values (a choice of widths, say) reads better as categories
    const distinct = new Set(vs.map((v) => JSON.stringify(v))).size;
    const few = distinct <= 6 && distinct < vs.length;
    return vs.every((v) => typeof v === "number") && !few
      ? numericAxis(n, vs as number[])
      : categoryAxis(n, vs);
  });
  const objectives = ok.map((t) => t.objective!);
  if (ok.length) axes.push(numericAxis("objective", objectives, `objective (${direction})`));

  const left = 70;
  const right = 170;
  const gap = 150;
  const top = 56;
  const plotH = 300;
  const width = left + right + Math.max(1, axes.length - 1) * gap;
  const height = top + plotH + 50;
  const x = (i: number) => left + i * gap;
  const y = (p: number) => top + (1 - p) * plotH;
  const parts: string[] = [];
  parts.push(
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">` +
      `Sweep: parallel coordinates (${ok.length} trials${
        failed ? `, ${failed} failed not shown` : ""
      })</text>`,
  );
  const lo = Math.min(...objectives);
  const hi = Math.max(...objectives);
  const badness = (v: number) =>
    hi === lo ? 0 : direction === "minimize" ? (v - lo) / (hi - lo) : (hi - v) / (hi - lo);
  const best = ok.length
    ? ok.reduce((a, b) => (badness(b.objective!) < badness(a.objective!) ? b : a))
    : undefined;
  // worst first so that the best lines lie on top
  const order = ok.slice().sort((a, b) => badness(b.objective!) - badness(a.objective!));
  for (const t of order) {
    const pts: string[] = [];
    axes.forEach((a, i) => {
      const p = a.name === "objective" && i === axes.length - 1
        ? a.pos(t.objective)
        : a.pos(t.params[a.name]);
      if (p !== undefined) pts.push(`${x(i).toFixed(1)},${y(p).toFixed(1)}`);
    });
    const isBest = t === best;
    parts.push(
      `<polyline points="${pts.join(" ")}" fill="none" stroke="${color(badness(t.objective!))}" ` +
        `stroke-width="${isBest ? 3.5 : 1.4}" stroke-opacity="${isBest ? 1 : 0.75}"${
          t.status === "pruned" ? ' stroke-dasharray="5,3"' : ""
        }><title>trial ${t.index}: ${esc(t.status)} ${fmt(t.objective!)}</title></polyline>`,
    );
  }
  axes.forEach((a, i) => {
    parts.push(
      `<line x1="${x(i)}" y1="${top}" x2="${x(i)}" y2="${
        top + plotH
      }" stroke="#333" stroke-width="1.2"/>`,
    );
    parts.push(
      `<text x="${x(i)}" y="${top - 12}" text-anchor="middle" font-size="13" font-weight="bold">${
        esc(a.label)
      }</text>`,
    );
    for (const t of a.ticks) {
      parts.push(
        `<line x1="${x(i) - 4}" y1="${y(t.at).toFixed(1)}" x2="${x(i)}" y2="${
          y(t.at).toFixed(1)
        }" stroke="#333"/>`,
        `<text x="${x(i) - 7}" y="${(y(t.at) + 4).toFixed(1)}" text-anchor="end" font-size="11" ` +
          `fill="#222" paint-order="stroke" stroke="white" stroke-width="3">${esc(t.text)}</text>`,
      );
    }
  });
  // colour bar and legend
  const bx = width - 50;
  for (let k = 0; k < 20; k++) {
    parts.push(
      `<rect x="${bx}" y="${(top + (k * plotH) / 20).toFixed(1)}" width="14" height="${
        (plotH / 20 + 0.5).toFixed(1)
      }" fill="${color(k / 19)}"/>`,
    );
  }
  parts.push(
    `<text x="${bx + 7}" y="${top - 12}" text-anchor="middle" font-size="11">best</text>`,
    `<text x="${bx + 7}" y="${top + plotH + 16}" text-anchor="middle" font-size="11">worst</text>`,
    `<text x="${left}" y="${height - 12}" font-size="12" fill="#333">` +
      `Line colour: objective (dark = better). Thick: best trial${
        best ? ` (${best.index})` : ""
      }. Dashed: pruned.</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n` +
    `<rect width="${width}" height="${height}" fill="white"/>\n${parts.join("\n")}\n</svg>\n`;
}

/**
 * Sweep output: a results table, CSV, the best trial as JSON, an SVG of the objective
 * against each numeric parameter and a parallel-coordinates SVG. Each takes a sweep's
 * result or its trials (say, from `readJournal`).
 *
 * @module
 */
import { _figure, type _Panel, type SvgPlot } from "../callbacks/_svg.ts";
import { parallelCoordinatesSvg } from "./_parallel.ts";
import type { SweepResult } from "./sweep.ts";
import type { Direction, TrialRecord } from "./types.ts";

/** What the report functions take: a sweep's result, or its trials (as a journal holds them). */
export type SweepTrials = SweepResult | readonly TrialRecord[];

function trialsOf(input: SweepTrials, who: string): {
  trials: readonly TrialRecord[];
  direction: Direction | undefined;
} {
  if (Array.isArray(input)) return { trials: input, direction: undefined };
  const r = input as SweepResult;
  if (!r || !Array.isArray(r.trials)) {
    throw new TypeError(
      `Cannot ${who} as 'result' must be a sweep's result or an array of trials: current value is ${
        String(input)
      }`,
    );
  }
  return { trials: r.trials, direction: r.direction };
}

function cell(v: unknown): string {
  if (typeof v === "number") {
    return Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString();
  }
  if (v === null || v === undefined) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

function paramNames(trials: readonly TrialRecord[]): string[] {
  return [...new Set(trials.flatMap((t) => Object.keys(t.params)))];
}

/** The error on one line, at most `max` characters. */
function shortError(error: string | undefined, max: number): string {
  if (!error) return "";
  const one = error.replace(/\s+/g, " ").trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/**
/**
 * A table as text that shows as a table wherever it ends up: `text` (or `String(table)`,
 * or a template literal) is the fixed-width text; `console.log(table)` prints it; left as
 * a Jupyter cell's last value it displays as an HTML table (with the text as `text/plain`).
 */
export interface TextTable {
  /** The fixed-width text, one row per line under a header. */
  readonly text: string;
  /** The header and the rows, cell by cell. */
  readonly rows: readonly (readonly string[])[];
  /** The text. */
  toString(): string;
}

function htmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function textTable(rows: readonly (readonly string[])[], text: string): TextTable {
  const table = { text, rows, toString: (): string => text };
  const [head = [], ...body] = rows;
  const html = `<table><thead><tr>${head.map((h) => `<th>${htmlEscape(h)}</th>`).join("")}</tr>` +
    `</thead><tbody>${
      body.map((r) => `<tr>${r.map((c) => `<td>${htmlEscape(c)}</td>`).join("")}</tr>`).join("")
    }</tbody></table>`;
  Object.defineProperty(table, Symbol.for("Jupyter.display"), {
    value: () => ({ "text/plain": text, "text/html": html }),
  });
  Object.defineProperty(table, Symbol.for("Deno.customInspect"), { value: () => text });
  return table;
}

/**
 * The trials as a table, in the order given (best first from `sweep`), with the reason of
 * each failure (shortened to 80 characters; the CSV has it whole).
 *
 * @param result A sweep's result, or its trials.
 * @returns The table: `.text` is fixed-width text (what `console.log` prints), and in a
 * notebook it displays as an HTML table.
 * @throws {TypeError} If `result` is neither.
 *
 * @example
 * ```ts
 * import { choice, grid, sweep, sweepTable } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * const result = await sweep({ space: { x: choice([1, 2]) }, sampler: grid(), trial: ({ x }) => x });
 * const table = sweepTable(result);
 * assertEquals(table.rows[1]!.slice(0, 5), ["1", "0", "finished", "1", "1"]);
 * assertEquals(`${table}`, table.text);
 * assertEquals(table.text.split("\n")[1]!.trim().split(/\s+/).slice(0, 3), ["1", "0", "finished"]);
 * ```
 */
export function sweepTable(result: SweepTrials): TextTable {
  const { trials } = trialsOf(result, "make the sweep table");
  const names = paramNames(trials);
  const withErrors = trials.some((t) => t.error);
  const header = ["rank", "trial", "status", "objective", ...names, "epochsRun", "seconds"];
  if (withErrors) header.push("error");
  const rows = trials.map((t, i) => {
    const row = [
      String(i + 1),
      String(t.index),
      t.status,
      cell(t.objective),
      ...names.map((n) => cell(t.params[n])),
      String(t.epochs.length),
      t.seconds.toFixed(1),
    ];
    if (withErrors) row.push(shortError(t.error, 80));
    return row;
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((s, c) => s.padEnd(widths[c]!)).join("  ").trimEnd();
  return textTable([header, ...rows], [line(header), ...rows.map(line)].join("\n"));
}

/**
 * The trials as CSV: trial, status, objective, one column per parameter, seconds, epochs
 * and the error of a failed trial.
 *
 * @param result A sweep's result, or its trials.
 * @returns The CSV text, header first.
 * @throws {TypeError} If `result` is neither.
 *
 * @example
 * ```ts
 * import { sweepToCsv } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * const csv = sweepToCsv([
 *   { key: "k", index: 0, params: { lr: 0.1 }, status: "finished", objective: 0.5, epochs: [{}], seconds: 2 },
 *   { key: "k", index: 1, params: { lr: 1 }, status: "failed", objective: null, epochs: [], seconds: 0, error: "RangeError: NaN, again" },
 * ]);
 * assertEquals(csv.split("\n")[0], "trial,status,objective,lr,seconds,epochsRun,error");
 * assertEquals(csv.split("\n")[2], '1,failed,,1,0,0,"RangeError: NaN, again"');
 * ```
 */
export function sweepToCsv(result: SweepTrials): string {
  const { trials } = trialsOf(result, "write the sweep's CSV");
  const names = paramNames(trials);
  const esc = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = [
    ["trial", "status", "objective", ...names, "seconds", "epochsRun", "error"].join(","),
  ];
  for (const t of trials) {
    lines.push([
      String(t.index),
      t.status,
      t.objective === null ? "" : String(t.objective),
      ...names.map((n) => esc(cell(t.params[n]))),
      String(Number(t.seconds.toFixed(3))),
      String(t.epochs.length),
      esc(t.error ?? ""),
    ].join(","));
  }
  return lines.join("\n") + "\n";
}

/**
 * The best finished or pruned trial as JSON: its index, objective and parameters, ready to
 * save next to a sweep and to load in a training script.
 *
 * @param result A sweep's result, or its trials (then `direction` says which is best).
 * @param direction For an array of trials: whether smaller or larger is better. @default {"minimize"}
 * @returns The JSON text (`null` when no trial ended with an objective).
 * @throws {TypeError} If `result` is neither.
 *
 * @example
 * ```ts
 * import { bestTrialJson, choice, grid, sweep } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * const result = await sweep({ space: { x: choice([3, 1, 2]) }, sampler: grid(), trial: ({ x }) => x });
 * assertEquals(JSON.parse(bestTrialJson(result)), { index: 1, objective: 1, params: { x: 1 } });
 * ```
 */
export function bestTrialJson(result: SweepTrials, direction?: Direction): string {
  const { trials, direction: own } = trialsOf(result, "find the best trial");
  const dir = own ?? direction ?? "minimize";
  let best: TrialRecord | undefined;
  for (const t of trials) {
    if (t.status === "failed" || t.objective === null) continue;
    if (
      !best || (dir === "minimize" ? t.objective < best.objective! : t.objective > best.objective!)
    ) best = t;
  }
  return JSON.stringify(
    best ? { index: best.index, objective: best.objective, params: best.params } : null,
    null,
    2,
  );
}

/**
 * Scatter plots of the objective against each numeric parameter (a log axis where the
 * values span more than two decades), failed trials left out.
 *
 * @param result A sweep's result, or its trials.
 * @returns The picture (one panel per numeric parameter).
 * @throws {TypeError} If `result` is neither.
 *
 * @example
 * ```ts
 * import { choice, grid, plotSweep, sweep } from "@fitloop/fitloop/sweep";
 * import { assertStringIncludes } from "@std/assert";
 * const result = await sweep({ space: { lr: choice([1e-4, 1e-2, 1]) }, sampler: grid(), trial: ({ lr }) => lr });
 * assertStringIncludes(plotSweep(result).svg, "lr (log scale)");
 * assertStringIncludes(plotSweep(result.trials).svg, "lr (log scale)");
 * ```
 */
export function plotSweep(result: SweepTrials): SvgPlot {
  const { trials, direction } = trialsOf(result, "plot the sweep");
  const ok = trials.filter((t) => t.status !== "failed" && t.objective !== null);
  const numeric = paramNames(ok).filter((n) =>
    ok.some((t) => typeof t.params[n] === "number") && new Set(ok.map((t) => t.params[n])).size > 1
  );
  const panels: _Panel[] = numeric.map((n) => {
    const xs = ok.map((t) => t.params[n] as number);
    const positive = xs.every((x) => x > 0);
    const log = positive && Math.max(...xs) / Math.min(...xs) > 100;
    return {
      title: `objective vs ${n}`,
      xLabel: log ? `${n} (log scale)` : n,
      yLabel: direction ? `objective (${direction})` : "objective",
      logX: log,
      series: [{ x: xs, y: ok.map((t) => t.objective as number), label: "trial", dots: true }],
    };
  });
  return _figure(
    panels.length
      ? panels
      : [{ title: "no numeric parameter", xLabel: "", yLabel: "", series: [] }],
  );
}

/**
 * A parallel-coordinates picture: one vertical axis per parameter that varies (log scale
 * for a positive one spanning more than two decades; categories, and numbers that repeat
 * among at most six values, evenly spaced) and one for
 * the objective, one line per finished or pruned trial coloured by its objective (dark
 * blue best, yellow worst), pruned trials dashed and the best trial drawn thick.
 *
 * @param result A sweep's result, or its trials.
 * @param direction For an array of trials: whether smaller or larger is better. @default {"minimize"}
 * @returns The picture.
 * @throws {TypeError} If `result` is neither.
 *
 * @example
 * ```ts
 * import { choice, grid, plotParallelCoordinates, sweep } from "@fitloop/fitloop/sweep";
 * import { assertStringIncludes } from "@std/assert";
 * const result = await sweep({
 *   space: { lr: choice([1e-4, 1e-2, 1]), act: choice(["relu", "tanh"]) },
 *   sampler: grid(),
 *   trial: ({ lr, act }) => lr + (act === "relu" ? 0 : 1),
 * });
 * const svg = plotParallelCoordinates(result).svg;
 * assertStringIncludes(svg, "(6 trials)");
 * assertStringIncludes(svg, ">tanh<");
 * ```
 */
export function plotParallelCoordinates(result: SweepTrials, direction?: Direction): SvgPlot {
  const { trials, direction: own } = trialsOf(result, "plot parallel coordinates");
  const svg = parallelCoordinatesSvg(trials, own ?? direction ?? "minimize");
  const plot = { svg, toString: (): string => svg };
  Object.defineProperty(plot, Symbol.for("Jupyter.display"), {
    value: () => ({ "image/svg+xml": svg }),
  });
  return plot;
}

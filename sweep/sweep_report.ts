/**
 * Sweep output: a results table, CSV and an SVG of the objective against each numeric
 * parameter.
 *
 * @module
 */
import { _figure, type _Panel, type SvgPlot } from "../callbacks/_svg.ts";
import type { TrialRecord } from "./journal.ts";
import type { SweepResult } from "./sweep.ts";

function _cell(v: unknown): string {
  if (typeof v === "number") {
    return Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString();
  }
  if (v === null || v === undefined) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

function _paramNames(trials: readonly TrialRecord[]): string[] {
  return [...new Set(trials.flatMap((t) => Object.keys(t.params)))];
}

/**
 * The trials as a fixed-width table, in the order given (best first from `sweep`).
 *
 * @param result A sweep's result.
 * @returns The table, one trial per line under a header.
 *
 * @example
 * ```ts
 * import { choice, grid, sweep, sweepTable } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * const result = await sweep({ space: { x: choice([1, 2]) }, strategy: grid(), trial: ({ x }) => x });
 * assertEquals(sweepTable(result).split("\n")[1]!.trim().split(/\s+/).slice(0, 5), ["1", "0", "finished", "1", "1"]);
 * ```
 */
export function sweepTable(result: SweepResult): string {
  const names = _paramNames(result.trials);
  const header = ["rank", "trial", "status", "objective", ...names, "seconds"];
  const rows = result.trials.map((t, i) => [
    String(i + 1),
    String(t.index),
    t.status,
    _cell(t.objective),
    ...names.map((n) => _cell(t.params[n])),
    t.seconds.toFixed(1),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((s, c) => s.padEnd(widths[c]!)).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/**
 * The trials as CSV: index, status, objective, one column per parameter, seconds, epochs.
 *
 * @param trials The trials (a sweep's `trials`, or a journal's records).
 * @returns The CSV text, header first.
 *
 * @example
 * ```ts
 * import { sweepToCsv } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * const csv = sweepToCsv([{ key: "k", index: 0, params: { lr: 0.1 }, status: "finished", objective: 0.5, epochs: [{}], seconds: 2 }]);
 * assertEquals(csv, "trial,status,objective,lr,seconds,epochs\n0,finished,0.5,0.1,2,1\n");
 * ```
 */
export function sweepToCsv(trials: readonly TrialRecord[]): string {
  const names = _paramNames(trials);
  const esc = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = [["trial", "status", "objective", ...names, "seconds", "epochs"].join(",")];
  for (const t of trials) {
    lines.push([
      String(t.index),
      t.status,
      t.objective === null ? "" : String(t.objective),
      ...names.map((n) => esc(_cell(t.params[n]))),
      String(Number(t.seconds.toFixed(3))),
      String(t.epochs.length),
    ].join(","));
  }
  return lines.join("\n") + "\n";
}

/**
 * Scatter plots of the objective against each numeric parameter (a log axis where the
 * values span more than two decades), failed trials left out.
 *
 * @param result A sweep's result.
 * @returns The picture (one panel per numeric parameter).
 *
 * @example
 * ```ts
 * import { choice, grid, plotSweep, sweep } from "@fitloop/fitloop/sweep";
 * import { assertStringIncludes } from "@std/assert";
 * const result = await sweep({ space: { lr: choice([1e-4, 1e-2, 1]) }, strategy: grid(), trial: ({ lr }) => lr });
 * assertStringIncludes(plotSweep(result).svg, "lr (log scale)");
 * ```
 */
export function plotSweep(result: SweepResult): SvgPlot {
  const ok = result.trials.filter((t) => t.status !== "failed" && t.objective !== null);
  const numeric = _paramNames(ok).filter((n) =>
    ok.some((t) => typeof t.params[n] === "number") && new Set(ok.map((t) => t.params[n])).size > 1
  );
  const panels: _Panel[] = numeric.map((n) => {
    const xs = ok.map((t) => t.params[n] as number);
    const positive = xs.every((x) => x > 0);
    const log = positive && Math.max(...xs) / Math.min(...xs) > 100;
    return {
      title: `objective vs ${n}`,
      xLabel: log ? `${n} (log scale)` : n,
      yLabel: `objective (${result.direction})`,
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

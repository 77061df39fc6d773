// The fastai epoch table (epoch, trainLoss, validLoss, metrics, time), shared by the CSV
// logger and the progress bar. Its column names are the names a user gives `monitor` and
// finds in `metricNames` (one vocabulary: fastai prints train_loss/valid_loss).
import type { TrainState } from "../core/state.ts";

/** Column names: the state's metric names as they are. */
export function _columns(s: TrainState): string[] {
  return ["epoch", "trainLoss", ...s.metricNames, "time"];
}

/** A number as the table shows it (6 significant digits, or `digits`; NaN as #na#). */
export function _fmt(v: number, digits = 6): string {
  return Number.isNaN(v) ? "#na#" : Number(v.toPrecision(digits)).toString();
}

/** Seconds as mm:ss (or h:mm:ss). */
export function _clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** The row values of an epoch: epoch, smoothed train loss, metrics. */
export function _row(s: TrainState): number[] {
  return [s.epoch, s.smoothLoss, ...s.lastMetrics];
}

/** How the table is laid out: column widths (gap included) and significant digits. */
export interface _Layout {
  readonly widths: readonly number[];
  readonly digits: number;
}

/**
 * The table's layout for a terminal of `columns` (undefined: no limit): two spaces between
 * columns and 6 significant digits, else one space, else 4 digits. A row is at most
 * `columns` wide when any of these fits (a row as wide as the terminal does not wrap: it
 * ends with a newline); with very many metrics rows wrap, once each (never redrawn).
 */
export function _layout(headers: readonly string[], columns?: number): _Layout {
  let layout: _Layout | undefined;
  for (const [gap, digits] of [[2, 6], [1, 6], [1, 4]] as const) {
    const widths = headers.map((h, i) =>
      Math.max(h.length, i === 0 || i === headers.length - 1 ? 5 : digits + 3) + gap
    );
    layout = { widths, digits };
    if (columns === undefined || widths.reduce((a, w) => a + w, 0) - gap <= columns) break;
  }
  return layout!;
}

/** A table row: cells padded to the layout's widths. */
export function _pad(cells: readonly string[], layout: _Layout): string {
  return cells.map((c, i) => c.padEnd(layout.widths[i] ?? 12)).join("").trimEnd();
}

/** Elapsed and ETA of an epoch: `mm:ss<mm:ss` as fastai shows them. */
export function _timing(
  elapsedMs: number,
  done: number,
  skipped: number,
  total: number | undefined,
): string {
  const ran = done - skipped;
  const elapsed = _clock(elapsedMs / 1000);
  if (total === undefined || ran <= 0) return `${elapsed}<?`;
  return `${elapsed}<${_clock((elapsedMs / 1000 / ran) * Math.max(0, total - done))}`;
}

/**
 * The live bar's line, fitted to `columns - 1` characters (a line as wide as the terminal
 * would wrap and leave a copy per redraw): the bar shrinks first, then the loss goes, then
 * the bar.
 */
export function _barLine(
  s: TrainState,
  done: number,
  timing: string,
  columns: number,
): string {
  const total = s.nBatches;
  const head = `epoch ${s.epoch + 1}/${s.nEpochs}`;
  const count = `${done}/${total ?? "?"}`;
  const loss = `loss ${_fmt(s.smoothLoss)}`;
  const room = Math.max(10, columns - 1);
  const bar = (width: number): string => {
    const frac = total ? Math.min(1, done / total) : 0;
    const filled = Math.round(frac * width);
    return `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
  };
  const fixed = [head, count, timing, loss].join(" ").length + 1;
  const width = Math.min(20, room - fixed - 2);
  if (width >= 5) return [head, bar(width), count, timing, loss].join(" ");
  const noBar = [head, count, timing, loss].join(" ");
  if (noBar.length <= room) return noBar;
  return [head, count, timing].join(" ").slice(0, room);
}

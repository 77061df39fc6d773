import type { Callback, StateUpdate } from "../core/callback.ts";
import type { TrainState } from "../core/state.ts";
import { _clock, _columns, _fmt, _row } from "./_table.ts";
import { memoryOf } from "../core/callback.ts";

/** Where the progress bar writes text. */
export interface ProgressStream {
  /** Writes text as it is (no newline added). */
  write(text: string): void;
  /** Whether this is a terminal (a live bar) or not (one line per epoch). */
  isTerminal(): boolean;
}

/** A Jupyter display function: shows a MIME bundle, updating display `id` when `update`. */
export type JupyterDisplay = (
  bundle: Readonly<Record<string, string>>,
  options: { readonly update: boolean; readonly id: string },
) => void;

/** Options of {@linkcode progressBar}. */
export interface ProgressBarOptions {
  /** Where text goes. @default {standard error} */
  readonly stream?: ProgressStream;
  /** Jupyter display (updated in place instead of text). @default {Deno.jupyter.display when in a notebook} */
  readonly display?: JupyterDisplay;
  /** The clock, in milliseconds. @default {performance.now} */
  readonly now?: () => number;
  /** Least milliseconds between two redraws of the live bar. @default {100} */
  readonly refreshMs?: number;
}

/** The memory of {@linkcode progressBar}. */
export interface ProgressBarMemory {
  /** Training start (ms). */
  readonly start: number;
  /** Epoch start (ms). */
  readonly epochStart: number;
  /** Last redraw (ms). */
  readonly lastDraw: number;
  /** Table rows printed so far. */
  readonly rows: readonly (readonly string[])[];
}

const encoder = new TextEncoder();

function _stderr(): ProgressStream {
  return {
    write: (text) => void Deno.stderr.writeSync(encoder.encode(text)),
    isTerminal: () => Deno.stderr.isTerminal(),
  };
}

function _jupyter(): JupyterDisplay | undefined {
  try {
    const j = (Deno as unknown as { jupyter?: { display(o: unknown, p: unknown): Promise<void> } })
      .jupyter;
    if (!j || typeof j.display !== "function") return undefined;
    return (bundle, { update, id }) =>
      void j.display(bundle, { raw: true, update, display_id: id }).catch(() => {});
  } catch {
    return undefined;
  }
}

const WIDTH = 12;
const pad = (cells: readonly string[]): string =>
  cells.map((c) => c.padEnd(WIDTH)).join("").trimEnd();
let _displays = 0;

/**
 * Shows training progress and prints fastai's epoch table (epoch, train_loss, valid_loss,
 * metrics, time). On a terminal: a live bar on standard error with epoch, batch, smoothed
 * loss and ETA, redrawn at most every `refreshMs`. Not on a terminal: one plain line per
 * epoch. In a Jupyter notebook: one HTML display updated in place. Never reads a loss
 * itself (it shows the smoothed loss as far as it has been read).
 *
 * @param options Output stream, Jupyter display and clock (all injectable for tests).
 * @returns The callback.
 *
 * @example Plain lines when not on a terminal
 * ```ts
 * import { dryRun } from "@fitloop/fitloop/core";
 * import { progressBar } from "@fitloop/fitloop/callbacks";
 * import { assertEquals } from "@std/assert";
 * let out = "";
 * const stream = { write: (t: string) => void (out += t), isTerminal: () => false };
 * await dryRun([progressBar({ stream, now: () => 0 })], { epochs: 2, batchesPerEpoch: 3 });
 * assertEquals(out.trim().split("\n").length, 3); // header and two rows
 * ```
 */
export function progressBar(options: ProgressBarOptions = {}): Callback {
  const stream = options.stream ?? _stderr();
  const display = options.display ?? (options.stream ? undefined : _jupyter());
  const now = options.now ?? (() => performance.now());
  const refreshMs = options.refreshMs ?? 100;
  const name = "progressBar";
  const id = `fitloop-progress-${++_displays}`;
  const initial: ProgressBarMemory = { start: 0, epochStart: 0, lastDraw: -Infinity, rows: [] };
  const live = (): boolean => !display && stream.isTerminal();

  const html = (s: TrainState, rows: readonly (readonly string[])[], done: number): string => {
    const head = _columns(s).map((c) => `<th>${c}</th>`).join("");
    const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("");
    const total = s.nBatches ?? Math.max(done, 1);
    const bar = done >= 0
      ? `<div>epoch ${
        s.epoch + 1
      }/${s.nEpochs} <progress value="${done}" max="${total}"></progress> ` +
        `${done}/${s.nBatches ?? "?"} loss ${_fmt(s.smoothLoss)}</div>`
      : "";
    return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>${bar}`;
  };

  return {
    name,
    order: 1100,
    onTrainBegin: (): StateUpdate => {
      const t = now();
      if (display) display({ "text/html": "<div>starting…</div>" }, { update: false, id });
      return { memory: { ...initial, start: t, epochStart: t } };
    },
    onEpochBegin: (s: TrainState): StateUpdate => ({
      memory: { ...memoryOf(s, name, initial), epochStart: now() },
    }),
    onBatchEnd(s: TrainState): StateUpdate | void {
      if (!s.train || (!live() && !display)) return;
      const m = memoryOf(s, name, initial);
      const t = now();
      if (t - m.lastDraw < refreshMs) return;
      const done = s.numBatch + 1;
      if (display) {
        display({ "text/html": html(s, m.rows, done) }, { update: true, id });
      } else {
        const total = s.nBatches;
        const frac = total ? Math.min(1, done / total) : 0;
        const filled = Math.round(frac * 20);
        const perBatch = (t - m.epochStart) / 1000 / done;
        const eta = total ? _clock(perBatch * (total - done)) : "?";
        stream.write(
          `\r\x1b[2Kepoch ${s.epoch + 1}/${s.nEpochs} [${"#".repeat(filled)}${
            "-".repeat(20 - filled)
          }] ` +
            `${done}/${total ?? "?"} loss ${_fmt(s.smoothLoss)} eta ${eta}`,
        );
      }
      return { memory: { ...m, lastDraw: t } };
    },
    onEpochEnd(s: TrainState): StateUpdate {
      const m = memoryOf(s, name, initial);
      const seconds = (now() - m.epochStart) / 1000;
      const row = [..._row(s).map((v, i) => (i === 0 ? String(v) : _fmt(v))), _clock(seconds)];
      const rows = [...m.rows, row];
      if (display) {
        display({ "text/html": html(s, rows, -1) }, { update: true, id });
      } else {
        const clear = live() ? "\r\x1b[2K" : "";
        const header = m.rows.length === 0 ? `${pad(_columns(s))}\n` : "";
        stream.write(`${clear}${header}${pad(row)}\n`);
      }
      return { memory: { ...m, rows, lastDraw: -Infinity } };
    },
  };
}

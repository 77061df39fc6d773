import type { Callback, FitContext, StateUpdate } from "../core/callback.ts";
import type { TrainState } from "../core/state.ts";
import { _barLine, _clock, _columns, _fmt, _layout, _pad, _row, _timing } from "./_table.ts";
import { memoryOf } from "../core/callback.ts";
import { checkOptions, show } from "../core/_options.ts";

/** Where the progress bar writes text. */
export interface ProgressStream {
  /** Writes text as it is (no newline added). */
  write(text: string): void;
  /** Whether this is a terminal (a live bar) or not (one line per epoch). */
  isTerminal(): boolean;
  /** The terminal's width in columns (the live bar fits in it). @default {80} */
  columns?(): number;
}

/** A Jupyter display function: shows a MIME bundle, updating display `id` when `update`. */
export type JupyterDisplay = (
  bundle: Readonly<Record<string, string>>,
  options: { readonly update: boolean; readonly id: string },
) => void;

/** Options of {@linkcode progressBar}. */
export interface ProgressBarOptions {
  /**
   * Where text goes: the live bar (when it is a terminal) and the epoch table.
   * @default {the table to standard output, the live bar to standard error when that is a terminal}
   */
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
  /** Start of this fit (ms). */
  readonly start: number;
  /** Start of the epoch in hand, or of this fit when it resumed mid-epoch (ms). */
  readonly epochStart: number;
  /** Training batches of the epoch done before `epochStart` (a resumed fit skipped them). */
  readonly epochSkipped: number;
  /** Last redraw (ms). */
  readonly lastDraw: number;
  /** Table rows printed by this fit. */
  readonly rows: readonly (readonly string[])[];
  /** The fit these rows and clocks belong to (a resumed fit starts a new table). */
  readonly fitId: string | undefined;
  /** The Jupyter display of this fit. */
  readonly displayId: string;
}

const encoder = new TextEncoder();

function _console(): { rows: ProgressStream; bar: ProgressStream } {
  const columns = (): number => {
    try {
      return Deno.consoleSize().columns;
    } catch {
      return 80;
    }
  };
  return {
    rows: {
      write: (text) => void Deno.stdout.writeSync(encoder.encode(text)),
      isTerminal: () => Deno.stdout.isTerminal(),
      columns,
    },
    bar: {
      write: (text) => void Deno.stderr.writeSync(encoder.encode(text)),
      isTerminal: () => Deno.stderr.isTerminal(),
      columns,
    },
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

let _displays = 0;

/**
 * Shows training progress and prints fastai's epoch table (epoch, trainLoss, validLoss,
 * metrics, time: the names `monitor` takes). The table goes to standard output, one line
 * per epoch, so that `deno run train.ts > log.txt` keeps it; when standard error is a
 * terminal a live bar is drawn there too (epoch, batch, elapsed<ETA as fastai shows them,
 * smoothed loss), redrawn at most every `refreshMs` and fitted to the terminal's width. In
 * a Jupyter notebook: one display per fit (a learner's bar reused by `lrFind` and several
 * `fit`s shows each in its own cell), HTML with a `text/plain` fallback, updated in place.
 * A resumed fit starts a new table, with its header. Never reads a loss itself (it shows
 * the smoothed loss as far as it has been read).
 *
 * @param options Output stream, Jupyter display and clock (all injectable for tests).
 * @returns The callback.
 * @throws {TypeError} If an option is unknown or of the wrong kind.
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
  checkOptions("create progressBar", options, ["stream", "display", "now", "refreshMs"]);
  for (const key of ["display", "now"] as const) {
    if (options[key] !== undefined && typeof options[key] !== "function") {
      throw new TypeError(
        `Cannot create progressBar as '${key}' must be a function: current value is ${
          show(options[key])
        }`,
      );
    }
  }
  const given = options.stream;
  if (
    given !== undefined &&
    (typeof given?.write !== "function" || typeof given?.isTerminal !== "function")
  ) {
    throw new TypeError(
      `Cannot create progressBar as 'stream' must have write(text) and isTerminal(): current ` +
        `value is ${show(given)}`,
    );
  }
  const streams = given ? { rows: given, bar: given } : _console();
  const display = options.display ?? (given ? undefined : _jupyter());
  const now = options.now ?? (() => performance.now());
  const refreshMs = options.refreshMs ?? 100;
  const name = "progressBar";
  const initial: ProgressBarMemory = {
    start: 0,
    epochStart: 0,
    epochSkipped: 0,
    lastDraw: -Infinity,
    rows: [],
    fitId: undefined,
    displayId: "",
  };
  const live = (): boolean => !display && streams.bar.isTerminal();
  const columns = (): number => {
    const c = streams.bar.columns?.();
    return typeof c === "number" && c > 0 ? c : 80;
  };

  const text = (s: TrainState, rows: readonly (readonly string[])[], line: string): string => {
    const head = _columns(s);
    const layout = _layout(head);
    return [_pad(head, layout), ...rows.map((r) => _pad(r, layout)), line].join("\n").trimEnd();
  };
  /** The table's layout on the rows' stream (fitted to it when it is a terminal). */
  const tableLayout = (s: TrainState) => {
    const c = streams.rows.isTerminal() ? streams.rows.columns?.() : undefined;
    return _layout(_columns(s), typeof c === "number" && c > 0 ? c : undefined);
  };
  const html = (s: TrainState, rows: readonly (readonly string[])[], bar: string): string => {
    const head = _columns(s).map((c) => `<th>${c}</th>`).join("");
    const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("");
    return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>${bar}`;
  };
  const show_ = (m: ProgressBarMemory, s: TrainState, bar: string, plain: string): void => {
    display!({
      "text/html": html(s, m.rows, bar),
      "text/plain": text(s, m.rows, plain),
    }, { update: true, id: m.displayId });
  };

  /** This fit's memory: a fit that resumed (a new fitId) starts anew. */
  const mine = (s: TrainState, ctx: FitContext): ProgressBarMemory | undefined => {
    const m = memoryOf(s, name, initial);
    if (m.fitId === ctx.fitId && m.displayId !== "") return undefined;
    return begin(s, ctx);
  };
  const begin = (s: TrainState, ctx: FitContext): ProgressBarMemory => {
    const t = now();
    const displayId = `fitloop-progress-${ctx.fitId ?? ""}-${++_displays}`;
    if (display) {
      display({ "text/html": "<div>starting…</div>", "text/plain": "starting…" }, {
        update: false,
        id: displayId,
      });
    }
    return {
      ...initial,
      start: t,
      epochStart: t,
      epochSkipped: s.numBatch,
      fitId: ctx.fitId,
      displayId,
    };
  };

  return {
    name,
    order: 1100,
    onTrainBegin: (s: TrainState, ctx: FitContext): StateUpdate => ({ memory: begin(s, ctx) }),
    onEpochBegin: (s: TrainState, ctx: FitContext): StateUpdate => ({
      memory: {
        ...(mine(s, ctx) ?? memoryOf(s, name, initial)),
        epochStart: now(),
        epochSkipped: 0,
      },
    }),
    onBatchBegin(s: TrainState, ctx: FitContext): StateUpdate | void {
      if (!s.train) return;
      const fresh = mine(s, ctx);
      if (fresh) return { memory: fresh };
    },
    onBatchEnd(s: TrainState): StateUpdate | void {
      if (!s.train || (!live() && !display)) return;
      const m = memoryOf(s, name, initial);
      const t = now();
      if (t - m.lastDraw < refreshMs) return;
      const done = s.numBatch + 1;
      const timing = _timing(t - m.epochStart, done, m.epochSkipped, s.nBatches);
      if (display) {
        const total = s.nBatches ?? Math.max(done, 1);
        const line = `epoch ${s.epoch + 1}/${s.nEpochs} ${done}/${s.nBatches ?? "?"} ` +
          `${timing} loss ${_fmt(s.smoothLoss)}`;
        show_(
          m,
          s,
          `<div>epoch ${s.epoch + 1}/${s.nEpochs} <progress value="${done}" max="${total}">` +
            `</progress> ${done}/${s.nBatches ?? "?"} [${timing.replace("<", "&lt;")}] loss ${
              _fmt(s.smoothLoss)
            }</div>`,
          line,
        );
      } else {
        streams.bar.write(`\r\x1b[2K${_barLine(s, done, timing, columns())}`);
      }
      return { memory: { ...m, lastDraw: t } };
    },
    onEpochEnd(s: TrainState): StateUpdate {
      const m = memoryOf(s, name, initial);
      const seconds = (now() - m.epochStart) / 1000;
      const layout = display ? _layout(_columns(s)) : tableLayout(s);
      const row = [
        ..._row(s).map((v, i) => (i === 0 ? String(v) : _fmt(v, layout.digits))),
        _clock(seconds),
      ];
      const next: ProgressBarMemory = { ...m, rows: [...m.rows, row], lastDraw: -Infinity };
      if (display) {
        show_(next, s, "", "");
      } else {
        if (live()) streams.bar.write("\r\x1b[2K");
        const header = m.rows.length === 0 ? `${_pad(_columns(s), layout)}\n` : "";
        streams.rows.write(`${header}${_pad(row, layout)}\n`);
      }
      return { memory: next };
    },
  };
}

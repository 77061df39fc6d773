import type { Callback, FitContext, StateUpdate } from "../core/callback.ts";
import type { TrainState } from "../core/state.ts";
import { _columns } from "./_table.ts";
import { memoryOf } from "../core/callback.ts";
import { checkOptions, show } from "../core/_options.ts";

/** Options of {@linkcode csvLogger}. */
export interface CsvLoggerOptions {
  /** The file to write. */
  readonly path: string;
  /** Add to an existing file (its header is kept) instead of starting a new one. @default {false} */
  readonly append?: boolean;
  /** The clock, in milliseconds. @default {performance.now} */
  readonly now?: () => number;
}

/** The memory of {@linkcode csvLogger}. */
export interface CsvLoggerMemory {
  /** Whether the file already holds a header. */
  readonly headerWritten: boolean;
  /** When the epoch in hand started (ms). */
  readonly epochStart: number;
  /** The fit that measured `epochStart` (a resumed fit measures anew). */
  readonly fitId?: string | undefined;
}

function _csvNumber(v: number): string {
  return Number.isNaN(v) ? "" : String(v);
}

/**
 * Logs one CSV line per epoch: `epoch,trainLoss,validLoss,<metrics>,time` (time in
 * seconds; a skipped value is empty), with the header once. Each line is appended and
 * flushed when its epoch ends, so a crash loses nothing already written. The file's
 * folder is created if missing (when the fit starts). A resumed fit appends to the file.
 * Needs `--allow-write` (and `--allow-read` with `append`).
 *
 * @param options Path, append mode (and a clock, for tests).
 * @returns The callback.
 *
 * @example
 * ```ts
 * import { csvLogger } from "@fitloop/fitloop/callbacks";
 * import { assertEquals } from "@std/assert";
 * assertEquals(csvLogger({ path: "history.csv" }).name, "csvLogger");
 * ```
 */
export function csvLogger(options: CsvLoggerOptions): Callback {
  checkOptions("create csvLogger", options, ["path", "append", "now"], "{ path }");
  const { path, append = false } = options;
  if (typeof path !== "string" || path === "") {
    throw new TypeError(
      `Cannot create csvLogger as 'path' must be a file path: current value is ${show(path)}`,
    );
  }
  const now = options.now ?? (() => performance.now());
  const name = "csvLogger";
  const initial: CsvLoggerMemory = { headerWritten: false, epochStart: 0 };
  return {
    name,
    async onTrainBegin(_s: TrainState, ctx: FitContext): Promise<StateUpdate> {
      let headerWritten = false;
      if (append) {
        try {
          headerWritten = (await Deno.stat(path)).size > 0;
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
        }
      }
      const slash = path.replace(/\\/g, "/").lastIndexOf("/");
      if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
      if (!append) await Deno.writeTextFile(path, "");
      return { memory: { headerWritten, epochStart: now(), fitId: ctx.fitId } };
    },
    onEpochBegin: (s: TrainState, ctx: FitContext): StateUpdate => ({
      memory: { ...memoryOf(s, name, initial), epochStart: now(), fitId: ctx.fitId },
    }),
    onBatchBegin(s: TrainState, ctx: FitContext): StateUpdate | void {
      // resumed mid-epoch: the clock of the saved run means nothing in this one
      const m = memoryOf(s, name, initial);
      if (m.fitId !== ctx.fitId) return { memory: { ...m, epochStart: now(), fitId: ctx.fitId } };
    },
    async onEpochEnd(s: TrainState): Promise<StateUpdate> {
      const m = memoryOf(s, name, initial);
      const seconds = (now() - m.epochStart) / 1000;
      const values = [String(s.epoch), _csvNumber(s.smoothLoss), ...s.lastMetrics.map(_csvNumber)];
      let text = `${[...values, seconds.toFixed(3)].join(",")}\n`;
      if (!m.headerWritten) text = `${_columns(s).join(",")}\n${text}`;
      await Deno.writeTextFile(path, text, { append: true });
      return { memory: { ...m, headerWritten: true } };
    },
  };
}

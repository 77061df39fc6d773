import type { Callback, StateUpdate } from "../core/callback.ts";
import type { TrainState } from "../core/state.ts";
import { _columns } from "./_table.ts";
import { memoryOf } from "../core/callback.ts";

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
}

function _csvNumber(v: number): string {
  return Number.isNaN(v) ? "" : String(v);
}

/**
 * Logs one CSV line per epoch: `epoch,train_loss,valid_loss,<metrics>,time` (time in
 * seconds; a skipped value is empty), with the header once. Each line is appended and
 * flushed when its epoch ends, so a crash loses nothing already written. Needs
 * `--allow-write` (and `--allow-read` with `append`).
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
  const { path, append = false } = options;
  const now = options.now ?? (() => performance.now());
  const name = "csvLogger";
  const initial: CsvLoggerMemory = { headerWritten: false, epochStart: 0 };
  return {
    name,
    async onTrainBegin(): Promise<StateUpdate> {
      let headerWritten = false;
      if (append) {
        try {
          headerWritten = (await Deno.stat(path)).size > 0;
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
        }
      } else {
        await Deno.writeTextFile(path, "");
      }
      return { memory: { headerWritten, epochStart: now() } };
    },
    onEpochBegin: (s: TrainState): StateUpdate => ({
      memory: { ...memoryOf(s, name, initial), epochStart: now() },
    }),
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

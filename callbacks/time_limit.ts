import type { Callback, StateUpdate } from "../core/callback.ts";
import type { TrainState } from "../core/state.ts";
import { memoryOf } from "../core/callback.ts";

/** Options of {@linkcode timeLimit}. */
export interface TimeLimitOptions {
  /** The budget in seconds, counted from the start of training. */
  readonly seconds: number;
  /** The clock, in milliseconds. @default {performance.now} */
  readonly now?: () => number;
}

/**
 * Stops training cleanly once `seconds` have passed: the batch in hand finishes, the
 * epoch is validated and onEpochEnd runs (so trackers and loggers see a complete epoch).
 *
 * @param options The budget (and a clock, for tests).
 * @returns The callback.
 * @throws {RangeError} If `seconds` is not a positive number.
 *
 * @example
 * ```ts
 * import { timeLimit } from "@fitloop/fitloop/callbacks";
 * import { initialState } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * let t = 0;
 * const cb = timeLimit({ seconds: 1, now: () => t });
 * const s0 = initialState({ nEpochs: 1, hypers: [], loss: () => { throw 0; } });
 * const s = { ...s0, memory: { timeLimit: (cb.onTrainBegin!(s0, {}) as { memory: unknown }).memory } };
 * assertEquals(cb.onBatchEnd!(s, {}), undefined);
 * t = 1500;
 * assertEquals(cb.onBatchEnd!(s, {}), { stopTraining: true });
 * ```
 */
export function timeLimit(options: TimeLimitOptions): Callback {
  const { seconds } = options;
  const now = options.now ?? (() => performance.now());
  if (!(seconds > 0)) {
    throw new RangeError(
      `Cannot create timeLimit as 'seconds' must be a positive number: current value is ${seconds}`,
    );
  }
  return {
    name: "timeLimit",
    onTrainBegin: (): StateUpdate => ({ memory: { start: now() } }),
    onBatchEnd(s: TrainState): StateUpdate | void {
      const { start } = memoryOf(s, "timeLimit", { start: now() });
      if (s.train && now() - start >= seconds * 1000) return { stopTraining: true };
    },
  };
}

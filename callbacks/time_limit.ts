import type { Callback, FitContext, StateUpdate } from "../core/callback.ts";
import type { TrainState } from "../core/state.ts";
import { memoryOf } from "../core/callback.ts";
import { checkOptions, show } from "../core/_options.ts";

/** Options of {@linkcode timeLimit}. */
export interface TimeLimitOptions {
  /** The budget in seconds, counted from the start of training. */
  readonly seconds: number;
  /** The clock, in milliseconds. @default {performance.now} */
  readonly now?: () => number;
}

/** The memory of {@linkcode timeLimit}. */
export interface TimeLimitMemory {
  /** When this fit started (ms, on the callback's clock). */
  readonly start: number;
  /** The fit the clock belongs to. */
  readonly fitId?: string | undefined;
}

/**
 * Stops training cleanly once `seconds` have passed: the batch in hand finishes, the
 * epoch is validated and onEpochEnd runs (so trackers and loggers see a complete epoch).
 * The budget is per call of `fit`: a run resumed from a snapshot (a preemptible job that
 * snapshots and stops, then starts again) gets `seconds` more, counted from its first
 * batch, and trains on from where it stopped.
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
  checkOptions("create timeLimit", options, ["seconds", "now"], "{ seconds }");
  const { seconds } = options;
  const now = options.now ?? (() => performance.now());
  if (!(typeof seconds === "number" && seconds > 0)) {
    throw new RangeError(
      `Cannot create timeLimit as 'seconds' must be a positive number: current value is ${
        show(seconds)
      }`,
    );
  }
  return {
    name: "timeLimit",
    onTrainBegin: (_s: TrainState, ctx: FitContext): StateUpdate => ({
      memory: { start: now(), fitId: ctx.fitId } satisfies TimeLimitMemory,
    }),
    onBatchBegin(s: TrainState, ctx: FitContext): StateUpdate | void {
      // a resumed fit (onTrainBegin does not run again) starts its own clock
      const m = memoryOf<TimeLimitMemory | undefined>(s, "timeLimit", undefined);
      if (s.train && (m === undefined || m.fitId !== ctx.fitId)) {
        return { memory: { start: now(), fitId: ctx.fitId } satisfies TimeLimitMemory };
      }
    },
    onBatchEnd(s: TrainState): StateUpdate | void {
      const { start } = memoryOf<TimeLimitMemory>(s, "timeLimit", { start: now() });
      if (s.train && now() - start >= seconds * 1000) return { stopTraining: true };
    },
  };
}

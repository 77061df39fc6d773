/**
 * The tracker behind earlyStopping, reduceLROnPlateau and saveModel (fastai's
 * TrackerCallback): it reads a monitored metric from `lastMetrics` by name at the end of
 * each epoch and keeps the best value, the epoch of the best and the epochs waited since.
 * Pure: a callback keeps the tracker's record in its own memory.
 *
 * @module
 */
import type { TrainState } from "../core/state.ts";
import { didYouMean, show, suggest } from "../core/_options.ts";

/** Whether smaller ("min") or larger ("max") values of the monitored metric are better. */
export type Mode = "min" | "max";

/** Options of {@linkcode tracker}. */
export interface TrackerOptions {
  /** Name in `metricNames` to watch. @default {"validLoss"} */
  readonly monitor?: string;
  /** Better is smaller or larger. @default {"min" for names with "loss" or "error", else "max"} */
  readonly mode?: Mode;
  /** An epoch improves only if it beats the best by more than this. @default {0} */
  readonly minDelta?: number;
}

/** What a tracker remembers. */
export interface Tracked {
  /** Best monitored value so far (the worst possible value before any). */
  readonly best: number;
  /** Epoch of the best value, or -1 before any. */
  readonly bestEpoch: number;
  /** Epochs in a row without improvement. */
  readonly wait: number;
}

/** One epoch end seen by a tracker. */
export interface TrackerStep {
  /** The record after this epoch. */
  readonly tracked: Tracked;
  /** Whether this epoch improved on the best. */
  readonly improved: boolean;
  /** The monitored value of this epoch. */
  readonly value: number;
  /**
   * The value was NaN (the epoch's validation was skipped), so the epoch was not counted:
   * `tracked` is the record as it was (fastai v1 skips an epoch without a monitored value).
   */
  readonly skipped: boolean;
}

/** A tracker, made by {@linkcode tracker}. */
export interface Tracker {
  /** The monitored metric. */
  readonly monitor: string;
  /** Whether smaller or larger is better. */
  readonly mode: Mode;
  /** The improvement margin. */
  readonly minDelta: number;
  /** The record before the first epoch. */
  readonly initial: Tracked;
  /**
   * Reads the monitored value at an epoch's end and returns the next record.
   *
   * @param state The state in onEpochEnd.
   * @param previous The record so far.
   * @param who The callback asking (named in errors).
   */
  step(state: TrainState, previous: Tracked, who: string): TrackerStep;
}

/**
 * A tracker of one metric.
 *
 * @param options What to monitor and how.
 * @param who What is being created, for messages ("earlyStopping"). @default {"a tracker"}
 * @returns The tracker.
 * @throws {RangeError} If `minDelta` is negative or not a number, or `mode` is neither
 * "min" nor "max".
 * @throws {TypeError} If `monitor` is not a name.
 *
 * @example Two epochs: an improvement, then a wait
 * ```ts
 * import { tracker } from "@fitloop/fitloop/callbacks";
 * import { initialState } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * const t = tracker({ monitor: "validLoss" });
 * const s = initialState({ nEpochs: 2, hypers: [], loss: () => { throw 0; } });
 * const a = t.step({ ...s, epoch: 0, lastMetrics: [0.5] }, t.initial, "demo");
 * const b = t.step({ ...s, epoch: 1, lastMetrics: [0.7] }, a.tracked, "demo");
 * assertEquals([a.improved, b.improved], [true, false]);
 * assertEquals(b.tracked, { best: 0.5, bestEpoch: 0, wait: 1 });
 * ```
 */
export function tracker(options: TrackerOptions = {}, who = "a tracker"): Tracker {
  const monitor = options.monitor ?? "validLoss";
  if (typeof monitor !== "string" || monitor === "") {
    throw new TypeError(
      `Cannot create ${who} as 'monitor' must be a metric name: current value is ${show(monitor)}`,
    );
  }
  if (options.mode !== undefined && options.mode !== "min" && options.mode !== "max") {
    throw new RangeError(
      `Cannot create ${who} as 'mode' must be "min" or "max": current value is ${
        show(options.mode)
      }${didYouMean(String(options.mode), ["min", "max"])}`,
    );
  }
  const mode = options.mode ?? (/loss|error/i.test(monitor) ? "min" : "max");
  const minDelta = options.minDelta ?? 0;
  if (!(minDelta >= 0)) {
    throw new RangeError(
      `Cannot create ${who} as 'minDelta' must be >= 0: current value is ${minDelta}`,
    );
  }
  const initial: Tracked = {
    best: mode === "min" ? Infinity : -Infinity,
    bestEpoch: -1,
    wait: 0,
  };
  return {
    monitor,
    mode,
    minDelta,
    initial,
    step(state: TrainState, previous: Tracked, who: string): TrackerStep {
      const value = monitored(state, monitor, who);
      // NaN: the epoch had no value (validation skipped): as fastai v1 when
      // get_monitor_value() is None, the epoch is not counted
      if (Number.isNaN(value)) return { tracked: previous, improved: false, value, skipped: true };
      const improved = mode === "min"
        ? value < previous.best - minDelta
        : value > previous.best + minDelta;
      const tracked = improved
        ? { best: value, bestEpoch: state.epoch, wait: 0 }
        : { ...previous, wait: previous.wait + 1 };
      return { tracked, improved, value, skipped: false };
    },
  };
}

/**
 * The value of metric `monitor` in `state.lastMetrics`, or the smoothed training loss for
 * `"trainLoss"` (the epoch table's column of that name).
 *
 * @param state The state in onEpochEnd.
 * @param monitor The metric's name.
 * @param who The callback asking (named in the error).
 * @returns The value (NaN where validation was skipped).
 * @throws {RangeError} If no metric has that name; the message lists the known names.
 *
 * @example
 * ```ts
 * import { monitored } from "@fitloop/fitloop/callbacks";
 * import { initialState } from "@fitloop/fitloop/core";
 * import { assertEquals, assertThrows } from "@std/assert";
 * const s = initialState({ nEpochs: 1, hypers: [], loss: () => { throw 0; } });
 * const end = { ...s, lastMetrics: [0.3], metricNames: ["validLoss"] };
 * assertEquals(monitored(end, "validLoss", "demo"), 0.3);
 * assertThrows(() => monitored(end, "accuracy", "demo"), RangeError, "metrics are");
 * ```
 */
export function monitored(state: TrainState, monitor: string, who: string): number {
  const i = state.metricNames.indexOf(monitor);
  if (i < 0) {
    if (monitor === "trainLoss") return state.smoothLoss;
    throw new RangeError(
      `Callback '${who}' cannot monitor '${monitor}'${
        suggest(monitor, ["trainLoss", ...state.metricNames], "metrics")
      }`,
    );
  }
  return state.lastMetrics[i] ?? NaN;
}

// Shared by the trackers (earlyStopping, saveModel, reduceLROnPlateau): the monitored
// value is read from lastMetrics by name, so a callback that runs earlier can add a metric
// that a tracker then monitors.
import type { TrainState } from "../core/state.ts";

/** Whether smaller ("min") or larger ("max") values of the monitored metric are better. */
export type Mode = "min" | "max";

/** The default mode: "min" for names containing "loss" or "error", "max" otherwise. */
export function _modeFor(monitor: string, mode: Mode | undefined): Mode {
  return mode ?? (/loss|error/i.test(monitor) ? "min" : "max");
}

/** The value of `monitor` in `state.lastMetrics`; a RangeError lists the known names. */
export function _monitored(state: TrainState, monitor: string, who: string): number {
  const i = state.metricNames.indexOf(monitor);
  if (i < 0) {
    throw new RangeError(
      `Callback '${who}' cannot monitor '${monitor}': known metrics are ${
        state.metricNames.join(", ")
      }`,
    );
  }
  return state.lastMetrics[i] ?? NaN;
}

/** Whether `value` beats `best` by more than `minDelta` (NaN never does). */
export function _improved(value: number, best: number, mode: Mode, minDelta: number): boolean {
  if (Number.isNaN(value)) return false;
  return mode === "min" ? value < best - minDelta : value > best + minDelta;
}

/** The worst possible value for a mode. */
export function _worst(mode: Mode): number {
  return mode === "min" ? Infinity : -Infinity;
}

/** A callback's memory, or `initial` before its first update. */
export function _memoryOf<T>(state: TrainState, name: string, initial: T): T {
  return (state.memory[name] as T | undefined) ?? initial;
}

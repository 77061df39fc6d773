import type { Callback, StateUpdate } from "../core/callback.ts";
import { setHyper } from "../optim/hypers.ts";
import type { Schedule } from "../schedules/schedule.ts";
import type { Hypers, TrainState } from "../core/state.ts";
import { _pct, _totalBatches } from "./_progress.ts";
import { checkOptions } from "../core/_options.ts";

/** Schedules by hyper-parameter name; a schedule may give one value per layer group. */
export type HyperSchedules = Readonly<Record<string, Schedule<number | readonly number[]>>>;

/** Options of {@linkcode paramScheduler}. */
export interface ParamSchedulerOptions {
  /** Callback name. @default {"paramScheduler"} */
  readonly name?: string;
}

/**
 * Sets any hyper-parameters from schedules: before training batch `i` of `n` (over the
 * whole fit), each named hyper-parameter takes `schedule(i / n)`, in every layer group
 * (or per group when the schedule returns an array).
 *
 * @param schedules Schedules by hyper-parameter name (`lr`, `mom`, `wd`, or your own).
 * @param options Its name.
 * @returns The callback.
 * @throws {TypeError} If a schedule is not a function.
 * @throws {RangeError} During a fit, if the number of batches per epoch is unknown.
 *
 * @example Linear warm-up of lr and a constant wd
 * ```ts
 * import { paramScheduler } from "@fitloop/fitloop/callbacks";
 * import { initialState } from "@fitloop/fitloop/core";
 * import { annealingLinear, annealingNo } from "@fitloop/fitloop/schedules";
 * import { assertAlmostEquals } from "@std/assert";
 * const cb = paramScheduler({ lr: annealingLinear(0, 1), wd: annealingNo(0.1) });
 * const h = { lr: 9, mom: 0, sqrMom: 0, eps: 0, wd: 0 };
 * const s = { ...initialState({ nEpochs: 2, nBatches: 5, hypers: [h], loss: () => { throw 0; } }), iteration: 4 };
 * const u = cb.onBatchBegin!(s, {}) as { hypers: typeof s.hypers };
 * assertAlmostEquals(u.hypers[0]!.lr, 0.4);
 * assertAlmostEquals(u.hypers[0]!.wd, 0.1);
 * ```
 */
export function paramScheduler(
  schedules: HyperSchedules,
  options: ParamSchedulerOptions = {},
): Callback {
  checkOptions("create paramScheduler", options, ["name"]);
  const name = options.name ?? "paramScheduler";
  const entries = Object.entries(schedules);
  for (const [key, sched] of entries) {
    if (typeof sched !== "function") {
      throw new TypeError(
        `Cannot create ${name} as the schedule of '${key}' must be a function: current type is ${typeof sched}`,
      );
    }
  }
  return {
    name,
    setsHypers: { onBatchBegin: entries.map(([key]) => key) },
    onTrainBegin(s: TrainState): void {
      _totalBatches(s, name);
    },
    onBatchBegin(s: TrainState): StateUpdate | void {
      if (!s.train) return;
      const pct = _pct(s, _totalBatches(s, name));
      let hypers: readonly Hypers[] = s.hypers;
      for (const [key, sched] of entries) hypers = setHyper(hypers, key, sched(pct));
      return { hypers };
    },
  };
}

import type { Callback, StateUpdate } from "../core/callback.ts";
import { setHyper } from "../optim/hypers.ts";
import type { Annealer } from "../schedules/annealing.ts";
import { stepper } from "../schedules/stepper.ts";
import type { Hypers, TrainState } from "../core/state.ts";
import { checkOptions } from "../core/_options.ts";

/** One phase of {@linkcode generalScheduler} (fastai v1's `TrainingPhase`). */
export interface TrainingPhase {
  /** Length in training batches (the steps of v1's `Scheduler`s); a positive integer. */
  readonly length: number;
  /** Per hyper-parameter: a constant, or `[start, end]` annealed over the phase. */
  readonly hypers: Readonly<Record<string, number | readonly [number, number]>>;
  /**
   * How to anneal `[start, end]` values: one annealer, or one per key; constants stay
   * constant. @default {annealingLinear (v1's `Scheduler` default for a pair)}
   */
  readonly anneal?: Annealer | Readonly<Record<string, Annealer>>;
}

/**
 * fastai v1's `GeneralScheduler` (`fastai/callbacks/general_sched.py`), step for step:
 * onTrainBegin sets the first phase's start values; each training batch's onBatchEnd steps
 * the current phase's schedulers (v1's `Scheduler`: after `k` of `length` steps,
 * `anneal(start, end)(k / length)`) and moves to the next phase once the current one is
 * done; the batch end after the last phase is done stops training. So `1 + Σ length`
 * training batches run, and a phase that starts where the previous did not end is first
 * seen at its second value: the batch after a phase ends runs at that phase's end value.
 * Hyper-parameters are set in every layer group.
 *
 * @param phases The phases, in order.
 * @param options Its name.
 * @returns The callback.
 * @throws {RangeError} If there is no phase or a length is not a positive integer.
 *
 * @example Warm up over 2 batches, then decay over 4: 1 + 2 + 4 batches run
 * ```ts
 * import { dryRun } from "@fitloop/fitloop/core";
 * import { generalScheduler } from "@fitloop/fitloop/callbacks";
 * import { assertEquals } from "@std/assert";
 * const cb = generalScheduler([
 *   { length: 2, hypers: { lr: [0, 1] } },
 *   { length: 4, hypers: { lr: [1, 0] } },
 * ]);
 * const run = await dryRun([cb], { epochs: 3, batchesPerEpoch: 4 });
 * assertEquals(run.history.lrs, [0, 0.5, 1, 0.75, 0.5, 0.25, 0]);
 * assertEquals(run.stoppedAt, { epoch: 1, iteration: 7 });
 * ```
 */
export function generalScheduler(
  phases: readonly TrainingPhase[],
  options: { readonly name?: string } = {},
): Callback {
  checkOptions("create generalScheduler", options, ["name"]);
  const name = options.name ?? "generalScheduler";
  if (phases.length === 0) {
    throw new RangeError(
      `Cannot create ${name} as 'phases' must not be empty: current length is 0`,
    );
  }
  // ends[p]: steps done when phase p is done
  const ends: number[] = [];
  let total = 0;
  const steppers = phases.map((p, i) => {
    if (!(Number.isInteger(p.length) && p.length >= 1)) {
      throw new RangeError(
        `Cannot create ${name} as 'phases[${i}].length' must be a positive integer: current value is ${p.length}`,
      );
    }
    total += p.length;
    ends.push(total);
    return Object.entries(p.hypers).map(([key, value]) => {
      const anneal = typeof p.anneal === "function" ? p.anneal : p.anneal?.[key];
      const at = typeof value === "number"
        ? stepper(value, p.length) // a constant (v1: annealing_no)
        : stepper([value[0], value[1]], p.length, anneal); // linear unless told
      return [key, at] as const;
    });
  });
  const keys = [...new Set(phases.flatMap((p) => Object.keys(p.hypers)))];
  // the values after `k` steps: phase 0's start values before any step
  const after = (hypers: readonly Hypers[], k: number): readonly Hypers[] => {
    let p = 0;
    while (p < phases.length && k > ends[p]!) p++;
    if (p === phases.length) return hypers;
    const local = k - (p === 0 ? 0 : ends[p - 1]!);
    for (const [key, at] of steppers[p]!) hypers = setHyper(hypers, key, at(local));
    return hypers;
  };
  return {
    name,
    setsHypers: { onTrainBegin: Object.keys(phases[0]!.hypers), onBatchEnd: keys },
    onTrainBegin: (s: TrainState): StateUpdate => ({ hypers: after(s.hypers, 0) }),
    onBatchEnd(s: TrainState): StateUpdate | void {
      if (!s.train) return;
      // s.iteration steps were done before this batch end: all phases done, stop (v1)
      if (s.iteration >= total) return { stopEpoch: true, stopTraining: true };
      return { hypers: after(s.hypers, s.iteration + 1) };
    },
  };
}

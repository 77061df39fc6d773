import type { Callback, StateUpdate } from "../core/callback.ts";
import { setHyper } from "../optim/hypers.ts";
import { type Annealer, annealingCos, annealingNo } from "../schedules/annealing.ts";
import type { Hypers, TrainState } from "../core/state.ts";
import { checkOptions } from "../core/_options.ts";

/** One phase of {@linkcode generalScheduler} (fastai v1's TrainingPhase). */
export interface TrainingPhase {
  /** Length in training batches. */
  readonly length: number;
  /** Per hyper-parameter: a constant, or `[start, end]` annealed over the phase. */
  readonly hypers: Readonly<Record<string, number | readonly [number, number]>>;
  /** How to anneal `[start, end]` values: one annealer, or one per key. @default {annealingCos} */
  readonly anneal?: Annealer | Readonly<Record<string, Annealer>>;
}

/**
 * fastai v1's GeneralScheduler: consecutive phases of given lengths (in batches), each
 * setting hyper-parameters with its own annealer; when the last phase ends, training
 * stops. Within a phase of length `L`, batch `j` sits at `pct = j / L`.
 *
 * @param phases The phases, in order.
 * @param options Its name.
 * @returns The callback.
 * @throws {RangeError} If there is no phase or a length is not a positive integer.
 *
 * @example Warm up for 2 batches, then decay linearly for 4
 * ```ts
 * import { dryRun } from "@fitloop/fitloop/core";
 * import { generalScheduler } from "@fitloop/fitloop/callbacks";
 * import { annealingLinear } from "@fitloop/fitloop/schedules";
 * import { assertEquals } from "@std/assert";
 * const cb = generalScheduler([
 *   { length: 2, hypers: { lr: [0, 1] }, anneal: annealingLinear },
 *   { length: 4, hypers: { lr: [1, 0] }, anneal: annealingLinear },
 * ]);
 * const run = await dryRun([cb], { epochs: 3, batchesPerEpoch: 4 });
 * assertEquals(run.history.lrs, [0, 0.5, 1, 0.75, 0.5, 0.25]);
 * assertEquals(run.stoppedAt, { epoch: 1, iteration: 6 });
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
  const starts: number[] = [];
  let total = 0;
  phases.forEach((p, i) => {
    if (!(Number.isInteger(p.length) && p.length >= 1)) {
      throw new RangeError(
        `Cannot create ${name} as 'phases[${i}].length' must be a positive integer: current value is ${p.length}`,
      );
    }
    starts.push(total);
    total += p.length;
  });
  const keys = [...new Set(phases.flatMap((p) => Object.keys(p.hypers)))];
  const annealerFor = (p: TrainingPhase, key: string, pair: boolean): Annealer => {
    if (!pair) return annealingNo;
    if (typeof p.anneal === "function") return p.anneal;
    return p.anneal?.[key] ?? annealingCos;
  };
  return {
    name,
    setsHypers: { onBatchBegin: keys },
    onBatchBegin(s: TrainState): StateUpdate | void {
      if (!s.train || s.iteration >= total) return;
      let i = 0;
      while (i + 1 < phases.length && s.iteration >= starts[i + 1]!) i++;
      const phase = phases[i]!;
      const pct = (s.iteration - starts[i]!) / phase.length;
      let hypers: readonly Hypers[] = s.hypers;
      for (const [key, value] of Object.entries(phase.hypers)) {
        const pair = typeof value !== "number";
        const [start, end] = pair ? value : [value, value];
        hypers = setHyper(hypers, key, annealerFor(phase, key, pair)(start, end)(pct));
      }
      return { hypers };
    },
    onBatchEnd(s: TrainState): StateUpdate | void {
      if (s.train && s.iteration + 1 >= total) return { stopEpoch: true, stopTraining: true };
    },
  };
}

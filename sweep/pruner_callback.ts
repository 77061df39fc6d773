/**
 * The callback a sweep puts in every trial, and the pruning decision it takes from every
 * trial's reports.
 *
 * @module
 */
import type { Callback, StateUpdate } from "../core/callback.ts";
import type { TrainState } from "../core/state.ts";
import type { AshaPruner } from "./asha_pruner.ts";
import type { MedianPruner } from "./median_pruner.ts";
import { ashaDecision, medianDecision } from "./_decisions.ts";
import type { Direction, TrialReports } from "./types.ts";
import { monitored } from "../callbacks/tracker.ts";

/** A pruner, as plain data: {@linkcode medianPruner} or {@linkcode ashaPruner}. */
export type Pruner = MedianPruner | AshaPruner;

/** How a trial's callbacks talk to the sweep executor. */
export interface TrialChannel {
  /** This trial's id. */
  readonly trialId: number;
  /**
   * Reports the end of an epoch (all metrics by name, and the monitored value) and returns
   * every trial's monitored values so far, this one's included.
   */
  epochEnd(
    epoch: number,
    metrics: Readonly<Record<string, number>>,
    value: number,
  ): Promise<TrialReports>;
}

/**
 * Whether `pruner` stops trial `self` at the end of `epoch`, given all trials' reports.
 * Pure: the sweep's tests and its workers call the same function.
 *
 * @param pruner The pruner.
 * @param reports Every trial's monitored value per epoch.
 * @param self The trial deciding.
 * @param epoch The epoch that just ended (0-based).
 * @param direction Whether smaller or larger is better.
 * @returns True to stop the trial.
 *
 * @example
 * ```ts
 * import { medianPruner, shouldPrune } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * const reports = new Map([[0, [1]], [1, [2]], [2, [3]]]);
 * assertEquals(shouldPrune(medianPruner({ warmupEpochs: 0 }), reports, 0, 0, "maximize"), true);
 * ```
 */
export function shouldPrune(
  pruner: Pruner,
  reports: TrialReports,
  self: number,
  epoch: number,
  direction: Direction,
): boolean {
  const minimize = direction === "minimize";
  switch (pruner.kind) {
    case "median":
      return medianDecision(pruner, reports, self, epoch, minimize);
    case "asha":
      return ashaDecision(pruner, reports, self, epoch, minimize);
  }
}

/** Options of {@linkcode trialCallback}. */
export interface TrialCallbackOptions {
  /** The executor's channel. */
  readonly channel: TrialChannel;
  /** The metric the sweep optimizes, by name. */
  readonly monitor: string;
  /** Whether smaller or larger is better. */
  readonly direction: Direction;
  /** The pruner, if any. @default {undefined} */
  readonly pruner?: Pruner;
}

/**
 * The callback a sweep puts in every trial's `ctx.callbacks`: at each epoch end it
 * reports the validation metrics to the executor and, with a pruner, stops its own trial
 * (`stopTraining`) when the pruner says so from the other trials' reports.
 *
 * @param options Channel, monitor, direction and pruner.
 * @returns The callback, named "sweep"; its memory records `prunedAt` (or -1).
 *
 * @example
 * ```ts
 * import { dryRun } from "@fitloop/fitloop/core";
 * import { medianPruner, trialCallback } from "@fitloop/fitloop/sweep";
 * import { assertEquals } from "@std/assert";
 * const others = new Map([[1, [0.5, 0.4]], [2, [0.6, 0.45]]]);
 * const channel = {
 *   trialId: 0,
 *   epochEnd: (epoch: number, _m: unknown, value: number) => {
 *     const mine = [...(others.get(0) ?? []), value];
 *     others.set(0, mine);
 *     return Promise.resolve(others);
 *   },
 * };
 * const cb = trialCallback({ channel, monitor: "validLoss", direction: "minimize", pruner: medianPruner() });
 * const run = await dryRun([cb], { epochs: 5, batchesPerEpoch: 1, validLosses: [0.9, 0.9, 0.9] });
 * assertEquals(run.stoppedAt?.epoch, 1);
 * ```
 */
export function trialCallback(options: TrialCallbackOptions): Callback {
  const { channel, monitor, direction, pruner } = options;
  return {
    name: "sweep",
    order: 900,
    onTrainBegin: (): StateUpdate => ({ memory: { prunedAt: -1 } }),
    async onEpochEnd(s: TrainState): Promise<StateUpdate | void> {
      const value = monitored(s, monitor, "sweep");
      const metrics: Record<string, number> = {};
      s.metricNames.forEach((n, i) => (metrics[n] = s.lastMetrics[i] ?? NaN));
      const reports = await channel.epochEnd(s.epoch, metrics, value);
      if (pruner && shouldPrune(pruner, reports, channel.trialId, s.epoch, direction)) {
        return { stopTraining: true, memory: { prunedAt: s.epoch } };
      }
    },
  };
}

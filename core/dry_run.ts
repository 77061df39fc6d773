/**
 * dryRun: callbacks over synthetic loss and metric streams, with no model and no tensors,
 * through the same event order as `fit` (core/_run.ts).
 *
 * @module
 */
import type { Callback, FitContext } from "./callback.ts";
import { handle, handleSync, prepareCallbacks } from "./handler.ts";
import type { Hypers } from "../optim/hypers.ts";
import { beginBatch, initialState, recordLoss, type TrainState } from "./state.ts";
import { type History, historyOf, recorder } from "./recorder.ts";
import { type LoopOps, runFit } from "./_run.ts";

/** A value per index: an array, or a function of the index. */
export type Series = readonly number[] | ((index: number) => number);

/** Options of {@linkcode dryRun}. */
export interface DryRunOptions {
  /** Number of epochs. */
  readonly epochs: number;
  /** Training batches per epoch. */
  readonly batchesPerEpoch: number;
  /** Training loss of each batch, by iteration. @default {1 / (1 + iteration)} */
  readonly losses?: Series;
  /** Validation loss of each epoch. @default {the epoch's last training loss} */
  readonly validLosses?: Series;
  /** Metrics of each epoch, by name. @default {{}} */
  readonly metrics?: Readonly<Record<string, Series>>;
  /** Validation batches per epoch (their onBatchBegin/onLossBegin/onBatchEnd fire). @default {1} */
  readonly validBatchesPerEpoch?: number;
  /** Starting hyper-parameters, one record per layer group. @default {Adam's defaults, lr 1e-3} */
  readonly hypers?: readonly Hypers[];
}

/** What {@linkcode dryRun} returns. */
export interface DryRunResult {
  /** The final state. */
  readonly state: TrainState;
  /** The recorded history (lr and momentum per batch, losses, metrics). */
  readonly history: History;
  /** The hyper-parameters of every group at each training step. */
  readonly hypers: readonly (readonly Hypers[])[];
  /** Where training stopped early (epoch, and iterations done), if it did. */
  readonly stoppedAt: { readonly epoch: number; readonly iteration: number } | undefined;
}

/**
 * Runs callbacks over a synthetic loss and metric stream, with no model and no tensors:
 * the hyper-parameter trace they would produce and the epoch at which they would stop.
 * Every event fires in the order `fit` fires it (the same code runs both), validation
 * batches included; tensor fields are undefined, so callbacks that need tensors (mixUp, clipping) do not belong here.
 *
 * @param callbacks The callbacks (the recorder is added, as in `fit`).
 * @param options Epochs, batches, and the loss and metric streams.
 * @returns The final state, history, hyper-parameter trace and stop point.
 * @throws {RangeError} If `epochs` or `batchesPerEpoch` is not a positive integer.
 *
 * @example Where would early stopping stop?
 * ```ts
 * import { dryRun } from "@fitloop/fitloop/core";
 * import { earlyStopping } from "@fitloop/fitloop/callbacks";
 * import { assertEquals } from "@std/assert";
 * const run = await dryRun([earlyStopping({ patience: 1 })], {
 *   epochs: 10,
 *   batchesPerEpoch: 3,
 *   validLosses: [1, 0.8, 0.9, 0.95, 0.7],
 * });
 * assertEquals(run.stoppedAt?.epoch, 3);
 * ```
 */
export async function dryRun(
  callbacks: readonly Callback[],
  options: DryRunOptions,
): Promise<DryRunResult> {
  const { epochs, batchesPerEpoch, validBatchesPerEpoch = 1 } = options;
  for (
    const [name, v, min] of [
      ["epochs", epochs, 1],
      ["batchesPerEpoch", batchesPerEpoch, 1],
      ["validBatchesPerEpoch", validBatchesPerEpoch, 0],
    ] as const
  ) {
    if (!(Number.isInteger(v) && v >= min)) {
      throw new RangeError(
        `Cannot dryRun as '${name}' must be an integer >= ${min}: current value is ${v}`,
      );
    }
  }
  const metricNames = Object.keys(options.metrics ?? {});
  const hypers = options.hypers ?? [{ lr: 1e-3, mom: 0.9, sqrMom: 0.999, eps: 1e-7, wd: 0 }];
  const set = prepareCallbacks([recorder(), ...callbacks], {
    hasValid: validBatchesPerEpoch > 0,
    metricNames: ["validLoss", ...metricNames],
    optimizer: "dryRun",
    hyperNames: [...new Set(hypers.flatMap((h) => Object.keys(h)))],
  });
  const ctx: FitContext = { fitId: crypto.randomUUID() };
  const state = initialState({
    nEpochs: epochs,
    nBatches: batchesPerEpoch,
    hypers,
    loss: () => {
      throw new TypeError("Cannot compute a loss in a dry run: there is no model");
    },
    metricNames,
  });
  const trace: Hypers[][] = [];
  let stoppedAt: DryRunResult["stoppedAt"];
  let last = NaN;
  let epochNow = 0;
  const count = (n: number): Iterator<number> => {
    let i = 0;
    return { next: () => (i < n ? { done: false, value: i++ } : { done: true, value: undefined }) };
  };
  const ops: LoopOps<number> = {
    event: (s, e) => {
      const r = handle(s, e, set, ctx);
      if (e !== "onEpochEnd") return r;
      const stop = (t: TrainState): TrainState => {
        if (t.stopTraining && !stoppedAt) stoppedAt = { epoch: t.epoch, iteration: t.iteration };
        return t;
      };
      return r instanceof Promise ? r.then(stop) : stop(r);
    },
    eventSync: (s, e) => handleSync(s, e, set, ctx),
    trainBatches: (_s, epoch, skip) => {
      epochNow = epoch;
      return count(batchesPerEpoch - skip);
    },
    validBatches: () => count(validBatchesPerEpoch),
    begin: (s, _batch, train) => beginBatch(s, undefined as never, undefined as never, train),
    forward: (s) => ({ lastOutput: undefined, lastCaptures: s.lastCaptures }),
    loss: () => undefined,
    backward(s, body): Promise<TrainState> {
      const st = body(s);
      last = at(options.losses, st.iteration, 1 / (1 + st.iteration));
      return Promise.resolve(recordLoss(st, last));
    },
    step(s): void {
      trace.push(s.hypers.slice());
    },
    evaluate: () => {},
    endBatch: () => {},
    endTraining: (s) => Promise.resolve(s),
    validationResult: () =>
      Promise.resolve([
        at(options.validLosses, epochNow, last),
        ...metricNames.map((n) => at(options.metrics![n], epochNow, NaN)),
      ]),
    metricNames: ["validLoss", ...metricNames],
    pause: () => undefined,
    release: () => {},
  };
  const s = await runFit(ops, { state, resuming: false });
  return { state: s, history: historyOf(s), hypers: trace, stoppedAt };
}

function at(series: Series | undefined, i: number, fallback: number): number {
  if (series === undefined) return fallback;
  return typeof series === "function" ? series(i) : (series[i] ?? NaN);
}

import type { Callback, EventName } from "./callback.ts";
import { handle, prepareCallbacks } from "./handler.ts";
import {
  beginEpoch,
  endBatch,
  endEpochBatches,
  type Hypers,
  initialState,
  recordLoss,
  type TrainState,
} from "./state.ts";
import { type History, historyOf, recorder } from "./recorder.ts";

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

function _at(series: Series | undefined, i: number, fallback: number): number {
  if (series === undefined) return fallback;
  return typeof series === "function" ? series(i) : (series[i] ?? NaN);
}

/**
 * Runs callbacks over a synthetic loss and metric stream, with no model and no tensors:
 * the hyper-parameter trace they would produce and the epoch at which they would stop.
 * Every event fires in the order `fit` fires it (validation batches excepted); tensor
 * fields are undefined, so callbacks that need tensors (mixUp, clipping) do not belong here.
 *
 * @param callbacks The callbacks (the recorder is added, as in `fit`).
 * @param options Epochs, batches, and the loss and metric streams.
 * @returns The final state, history, hyper-parameter trace and stop point.
 * @throws {RangeError} If `epochs` or `batchesPerEpoch` is not a positive integer.
 *
 * @example Where would early stopping stop?
 * ```ts
 * import { dryRun, earlyStopping } from "@fitloop/fitloop/callbacks";
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
  const { epochs, batchesPerEpoch } = options;
  for (const [name, v] of [["epochs", epochs], ["batchesPerEpoch", batchesPerEpoch]] as const) {
    if (!(Number.isInteger(v) && v >= 1)) {
      throw new RangeError(
        `Cannot dryRun as '${name}' must be a positive integer: current value is ${v}`,
      );
    }
  }
  const set = prepareCallbacks([recorder(), ...callbacks]);
  const metricNames = Object.keys(options.metrics ?? {});
  const ctx = {};
  const run = async (s: TrainState, event: EventName): Promise<TrainState> => {
    const r = handle(s, event, set, ctx);
    return r instanceof Promise ? await r : r;
  };
  let s = initialState({
    nEpochs: epochs,
    nBatches: batchesPerEpoch,
    hypers: options.hypers ?? [{ lr: 1e-3, mom: 0.9, sqrMom: 0.999, eps: 1e-7, wd: 0 }],
    loss: () => {
      throw new TypeError("Cannot compute a loss in a dry run: there is no model");
    },
    metricNames,
  });
  const trace: Hypers[][] = [];
  let stoppedAt: DryRunResult["stoppedAt"];
  s = await run(s, "onTrainBegin");
  for (let epoch = 0; epoch < epochs && !s.stopTraining; epoch++) {
    s = await run(beginEpoch(s, epoch), "onEpochBegin");
    let last = NaN;
    for (let b = 0; b < batchesPerEpoch; b++) {
      s = { ...s, train: true, skipBackward: false, skipStep: false, skipZero: false };
      s = await run(s, "onBatchBegin");
      s = await run(s, "onLossBegin");
      s = await run(s, "onBackwardBegin");
      last = _at(options.losses, s.iteration, 1 / (1 + s.iteration));
      s = recordLoss(s, last);
      s = await run(s, "onBackwardEnd");
      if (!s.skipStep) trace.push(s.hypers.slice());
      s = await run(s, "onStepEnd");
      s = await run(s, "onBatchEnd");
      s = endBatch(s);
      if (s.stopEpoch || s.stopTraining) break;
    }
    const values = s.skipValidate ? [NaN, ...metricNames.map(() => NaN)] : [
      _at(options.validLosses, epoch, last),
      ...metricNames.map((n) => _at(options.metrics![n], epoch, NaN)),
    ];
    s = await run(endEpochBatches(s, values, ["validLoss", ...metricNames]), "onEpochEnd");
    if (s.stopTraining) stoppedAt = { epoch, iteration: s.iteration };
  }
  s = await run(s, "onTrainEnd");
  return { state: s, history: historyOf(s), hypers: trace, stoppedAt };
}

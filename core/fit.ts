/**
 * `fit`: the one place that touches tensors, awaits data and calls hooks. Everything a
 * training technique does happens in callbacks; this loop only moves the state through
 * the events (fastai v1's `fit`/`loss_batch`/`validate`) and owns the batch's tensors.
 *
 * Per training batch: onBatchBegin; inside tfjs's gradient recording (synchronously) the
 * forward pass, onLossBegin, the loss, onBackwardBegin; then the backward pass, the loss
 * read (lagged unless a callback sets `needsLoss`), onBackwardEnd, the optimizer step,
 * onStepEnd, onBatchEnd. Per validation batch: onBatchBegin, forward, onLossBegin, loss
 * and metrics (summed on the device, read once per epoch), onBatchEnd.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "../backend/_env.ts";
import "./_auto_backend.ts";
import { registerWasmTrainingKernels } from "../backend/wasm_kernels.ts";
import { type LearningRate, perGroup, resolveLr } from "../optim/hypers.ts";
import { optimizerStep, type Param } from "../optim/optimizer.ts";
import type { Callback, EventName, FitContext } from "./callback.ts";
import type { DataSource } from "./data.ts";
import { type CallbackSet, handle, handleSync, prepareCallbacks } from "./handler.ts";
import { claim, release } from "./_busy.ts";
import { freezePlain } from "./_freeze.ts";
import { checkLabels } from "./_labels.ts";
import { checkLr, checkOptions, checkWd, show } from "./_options.ts";
import type { Learner } from "./learner.ts";
import type { LearnerCore } from "./learner_core.ts";
import { type History, historyOf, recorder } from "./recorder.ts";
import { loadSnapshot } from "./snapshot.ts";
import { beginBatch, freezeHypers, type Hypers, initialState, type TrainState } from "./state.ts";
import type { Input, Metric, Scalar, Tensor } from "./types.ts";
import { gradAccumulator } from "./_accumulator.ts";
import { breather } from "./_breathe.ts";
import { epochBatches, type LoopBatch, sourceLength } from "./_epoch.ts";
import { recordGradients } from "./_gradients.ts";
import { lossReader } from "./_loss_reader.ts";
import { freezeVersion, regularization, trainableParams } from "./_params.ts";
import { captureNames, capturingForward } from "./_captures.ts";
import { mixSeed } from "./_rng.ts";
import { type LoopOps, runFit } from "./_run.ts";
import { tensorOwner } from "./_tensor_owner.ts";

/**
 * Options shared by every entry point that trains (`fit`, `fitOneCycle`, `lrFind`). A key
 * added here goes in {@linkcode FIT_OPTIONS} too (unknown keys are refused).
 */
export interface FitOptions {
  /** Learning rate for this fit: one, one per layer group, or `lrRange`. @default {learner's lr} */
  readonly lr?: LearningRate;
  /** Weight decay for this fit: one, or one per layer group. @default {learner's wd} */
  readonly wd?: number | readonly number[];
  /** Callbacks for this fit only, merged with the learner's by `order`. @default {[]} */
  readonly callbacks?: readonly Callback[];
  /**
   * When no callback sets `needsLoss`, training losses are read in groups of this many
   * batches (one device-to-host read per group, started early and awaited a group later),
   * so the device is never stalled per batch. @default {8}
   */
  readonly lossReadEvery?: number;
  /**
   * The run's seed: shuffling (for `batches()` without a seed of their own), dropout
   * masks of a LayersModel's Dropout layers and callbacks' draws (mixUp) derive from it
   * and the counters, so runs repeat and resume exactly. @default {0}
   */
  readonly seed?: number;
  /**
   * Continue a run: a snapshot directory (see `snapshot` and `snapshotEvery`) or a state
   * (from `fork`). Training goes on from the batch after the one the state was taken at,
   * mid-epoch included; onTrainBegin does not run again (callbacks carry on with their
   * memory), and `epochs` is the run's total. `lr`/`wd` given here replace the state's.
   */
  readonly resume?: string | TrainState;
}

/**
 * The names of {@linkcode FitOptions}: `fit` refuses any other key.
 *
 * @example
 * ```ts
 * import { FIT_OPTIONS } from "@fitloop/fitloop/core";
 * import { assertEquals } from "@std/assert";
 * assertEquals(FIT_OPTIONS.includes("callbacks"), true);
 * ```
 */
export const FIT_OPTIONS: readonly string[] = Object.freeze([
  "lr",
  "wd",
  "callbacks",
  "lossReadEvery",
  "seed",
  "resume",
]);

/** What a fit returns. */
export interface FitResult {
  /** The final training state (every callback's memory included). */
  readonly state: TrainState;
  /** The recorded history. */
  readonly history: History;
}

/**
 * Trains the learner's model for `epochs` epochs.
 *
 * @param learn The learner.
 * @param epochs Number of epochs; a positive integer.
 * @param options Learning rate, weight decay and callbacks for this fit.
 * @returns The final state and the history.
 * @throws {TypeError} If an option is unknown (with a "did you mean"), of the wrong kind
 * (`epochs: "3"`, `lr: "1e-3"`), the learner is busy with another fit, or a callback is
 * malformed or needs what this fit lacks (validation data for a monitored validation
 * metric, a hyper-parameter the optimizer does not read). All before any weight moves.
 * @throws {RangeError} If `epochs` is not a positive integer, `lr`/`wd` are negative, not
 * finite or do not match the layer groups, a callback monitors an unknown metric, the
 * training data is empty, a batch's inputs and targets differ in size, or the first
 * batch's class labels fall outside the model's outputs. Any error of a hook or of tfjs
 * propagates unchanged, after onTrainEnd.
 *
 * @example Fit a line
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { batches, disposeLearner, fit, learner, mse } from "@fitloop/fitloop";
 * import { sgd } from "@fitloop/fitloop/optim";
 * import { assertLess } from "@std/assert";
 * const x = tf.linspace(-1, 1, 64).reshape([64, 1]);
 * const y = x.mul(3).add(1);
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
 * const learn = learner({
 *   model,
 *   data: { train: batches(x, y, { batchSize: 16, shuffle: true }) },
 *   loss: mse,
 *   optimizer: sgd(),
 * });
 * const { history } = await fit(learn, 40, { lr: 0.3 });
 * assertLess(history.losses.at(-1)!, 0.05);
 * disposeLearner(learn);
 * tf.dispose([x, y]);
 * model.dispose();
 * ```
 */
export async function fit(
  learn: Learner,
  epochs: number,
  options: FitOptions = {},
): Promise<FitResult> {
  checkFitOptions("fit", learn, epochs, options);
  const lossReadEvery = options.lossReadEvery ?? 8;
  const { params, nGroups } = trainableParams(learn);
  const hypers = fitHypers(learn, options, nGroups);
  const nBatches = sourceLength(learn.data.train);
  if (nBatches === 0) {
    throw new RangeError("Cannot fit as the training data is empty: it holds 0 batches");
  }
  const metricNames = ["validLoss", ...learn.metrics.map((m) => m.name)];
  const set = prepareCallbacks([recorder(), ...learn.callbacks, ...(options.callbacks ?? [])], {
    hasValid: learn.data.valid !== undefined,
    metricNames,
    optimizer: learn.optimizer.name,
    hyperNames: hyperNamesOf(learn),
  });
  claim(learn, "fit");
  try {
    if (tf.getBackend() === "wasm") registerWasmTrainingKernels();
    let state: TrainState;
    if (options.resume !== undefined) {
      const from = typeof options.resume === "string"
        ? await loadSnapshot(learn, options.resume)
        : options.resume;
      if (from.hypers.length !== nGroups) {
        throw new RangeError(
          `Cannot resume as the state has ${from.hypers.length} layer groups and the learner ${nGroups}`,
        );
      }
      // A run stopped by a callback (timeLimit, earlyStopping…) trains on when resumed: the
      // stop flags it was saved with are not carried into the new fit.
      state = Object.freeze({
        ...from,
        nEpochs: epochs,
        nBatches: nBatches ?? from.nBatches,
        // an lr or wd given here replaces the state's; the other one carries on
        hypers: freezeHypers(from.hypers.map((h, i) => ({
          ...h,
          lr: options.lr !== undefined ? hypers[i]!.lr : h.lr,
          wd: options.wd !== undefined ? hypers[i]!.wd : h.wd,
        }))),
        memory: freezePlain({ ...from.memory }),
        loss: from.loss ?? learn.loss,
        stopEpoch: false,
        stopTraining: false,
        error: undefined,
      });
    } else {
      state = initialState({
        nEpochs: epochs,
        hypers,
        loss: learn.loss,
        metricNames: metricNames.slice(1),
        seed: options.seed ?? 0,
        ...(nBatches === undefined ? {} : { nBatches }),
      });
    }
    const ops = tensorOps(learn, set, params, metricNames, set.needsLoss ? 1 : lossReadEvery);
    const final = await runFit(ops, { state, resuming: options.resume !== undefined });
    return { state: final, history: historyOf(final) };
  } finally {
    release(learn);
  }
}

/**
 * Checks what a training entry point was given, before anything changes: the learner is
 * idle, `epochs` a positive integer, the options known and well typed.
 */
function checkFitOptions(
  what: string,
  learn: Learner,
  epochs: unknown,
  options: FitOptions,
): void {
  if (learn === null || typeof learn !== "object" || !("optimizer" in learn)) {
    throw new TypeError(
      `Cannot ${what} as 'learn' must be a learner made by learner(): current value is ${
        show(learn)
      }`,
    );
  }
  if (typeof epochs !== "number") {
    throw new TypeError(
      `Cannot ${what} as 'epochs' must be a positive integer: current value is ${show(epochs)}`,
    );
  }
  if (!(Number.isInteger(epochs) && epochs >= 1)) {
    throw new RangeError(
      `Cannot ${what} as 'epochs' must be a positive integer: current value is ${epochs}`,
    );
  }
  checkOptions(what, options, FIT_OPTIONS);
  if (options.lr !== undefined) checkLr(what, "lr", options.lr);
  if (options.wd !== undefined) checkWd(what, "wd", options.wd);
  if (options.callbacks !== undefined && !Array.isArray(options.callbacks)) {
    throw new TypeError(
      `Cannot ${what} as 'callbacks' must be an array of callbacks: current value is ${
        show(options.callbacks)
      }`,
    );
  }
  const lossReadEvery = options.lossReadEvery ?? 8;
  if (!(Number.isInteger(lossReadEvery) && lossReadEvery >= 1)) {
    throw new RangeError(
      `Cannot ${what} as 'lossReadEvery' must be a positive integer: current value is ${
        show(lossReadEvery)
      }`,
    );
  }
  if (options.seed !== undefined && !Number.isInteger(options.seed)) {
    throw new TypeError(
      `Cannot ${what} as 'seed' must be an integer: current value is ${show(options.seed)}`,
    );
  }
  const resume = options.resume;
  if (
    resume !== undefined && typeof resume !== "string" &&
    !(resume !== null && typeof resume === "object" && Array.isArray(resume.hypers))
  ) {
    throw new TypeError(
      `Cannot ${what} as 'resume' must be a snapshot directory or a training state: ` +
        `current value is ${show(resume)}`,
    );
  }
}

/** The hyper-parameters the learner's optimizer reads: `lr`, `wd` and its defaults' keys. */
function hyperNamesOf(learn: LearnerCore): string[] {
  return [...new Set(["lr", ...Object.keys(learn.optimizer.defaults), "wd"])];
}

function fitHypers(learn: LearnerCore, options: FitOptions, nGroups: number): Hypers[] {
  const lrs = resolveLr(options.lr ?? learn.lr, nGroups);
  const wds = perGroup("wd", options.wd ?? learn.wd, nGroups);
  const d = learn.optimizer.defaults;
  return lrs.map((l, i) => ({ ...d, lr: l, wd: wds[i]! }));
}

/** The model's Dropout layers: their masks are seeded per batch from the state. */
function dropoutsOf(learn: LearnerCore): { seed?: number }[] {
  const model = learn.model;
  if (!(model instanceof tf.LayersModel)) return [];
  return model.layers.filter((l) => /Dropout/.test(l.getClassName()) && "seed" in l) as {
    seed?: number;
  }[];
}

/**
 * The loop's work with tensors: batches from the data sources, the forward pass, the
 * loss, gradient recording, the optimizer step, validation sums on the device, lagged
 * loss reads, and the ownership of every batch-scoped tensor.
 */
function tensorOps(
  learn: LearnerCore,
  set: CallbackSet,
  params: readonly Param[],
  metricNames: readonly string[],
  readEvery: number,
): LoopOps<LoopBatch> {
  const ctx: FitContext = { learner: learn, fitId: crypto.randomUUID() };
  const owner = tensorOwner();
  const losses = lossReader(readEvery);
  const accumulated = gradAccumulator();
  let variables = params.map((p) => p.variable);
  // freezing during the fit (gradualUnfreeze) changes what is trained from the next batch
  // whose gradients are recorded (the batch in hand when it happens in onBatchBegin)
  let frozenAt = freezeVersion(learn.model);
  const refreshParams = (): void => {
    if (freezeVersion(learn.model) === frozenAt) return;
    frozenAt = freezeVersion(learn.model);
    params = trainableParams(learn).params;
    variables = params.map((p) => p.variable);
  };
  const forwardPass = capturingForward(learn, captureNames(set.callbacks, learn));
  const dropouts = dropoutsOf(learn);
  const pause = breather();
  // the loss as computed, before onBackwardBegin replacements (what gets recorded)
  const raw: { loss: Scalar | undefined } = { loss: undefined };
  const takeRaw = (): Scalar | undefined => {
    const loss = raw.loss;
    raw.loss = undefined;
    return loss;
  };
  let sums: Tensor | undefined;
  let count = 0;
  let labelsChecked = false;
  const event = (s: TrainState, e: EventName): TrainState | Promise<TrainState> =>
    handle(s, e, set, ctx, owner.adopt);
  return {
    event,
    eventSync: (s, e) => handleSync(s, e, set, ctx),
    trainBatches: (s, epoch, skip) => epochBatches(learn.data.train, epoch, s.seed, skip),
    validBatches(s: TrainState, epoch: number) {
      const valid: DataSource | undefined = learn.data.valid;
      if (valid === undefined) return undefined;
      sums?.dispose();
      sums = undefined;
      count = 0;
      return epochBatches(valid, epoch, s.seed, 0);
    },
    begin(s: TrainState, batch: LoopBatch, train: boolean): TrainState {
      owner.startBatch(batch);
      if (train) {
        for (let i = 0; i < dropouts.length; i++) {
          dropouts[i]!.seed = mixSeed(mixSeed(s.seed, s.iteration), i);
        }
      }
      return beginBatch(s, batch.input, batch.target, train);
    },
    forward(s: TrainState, train: boolean): Pick<TrainState, "lastOutput" | "lastCaptures"> {
      const input: Input = s.lastInput!;
      const out = train ? forwardPass(input, true) : tf.tidy(() => forwardPass(input, false));
      if (!train) owner.own(out);
      return { lastOutput: out.output, lastCaptures: out.captures };
    },
    loss(s: TrainState): Scalar {
      if (!s.train) {
        const loss = tf.tidy(() => checkedLoss(s));
        owner.own(loss);
        return loss;
      }
      let loss = checkedLoss(s);
      const reg = regularization(learn);
      if (reg) loss = tf.add(loss, reg) as Scalar;
      // The raw loss is what gets recorded (as fastai's recorder sees it, before any
      // onBackwardBegin replacement); the backward pass follows the replacement.
      raw.loss = tf.keep(loss);
      return loss;
    },
    async backward(s: TrainState, body): Promise<TrainState> {
      refreshParams(); // after onBatchBegin: a freezing there counts for this batch
      let recorded;
      try {
        recorded = recordGradients(variables, () => {
          const st = body(s);
          tf.keep(st.lastOutput!);
          tf.keep(st.lastLoss!);
          for (const t of Object.values(st.lastCaptures)) tf.keep(t);
          return { loss: st.lastLoss as Scalar, skipBackward: st.skipBackward, carry: st };
        });
      } catch (e) {
        takeRaw()?.dispose();
        throw e;
      }
      const st = recorded.carry;
      owner.own([st.lastOutput, st.lastLoss, st.lastCaptures]);
      owner.own(recorded.grads);
      if (recorded.grads && Object.keys(recorded.grads).length === 0) {
        takeRaw()?.dispose();
        throw new TypeError(
          "Cannot train as the loss does not depend on any trainable variable: compute it " +
            "from the model's output (the loss or an onBackwardBegin replacement cut the link)",
        );
      }
      if (!labelsChecked) {
        // once per fit, before the first step: class labels the model cannot output
        labelsChecked = true;
        try {
          await checkLabels(st.lastOutput!, st.lastTarget!);
        } catch (e) {
          takeRaw()?.dispose();
          throw e;
        }
      }
      const rawLoss = takeRaw()!;
      const withGrads = Object.freeze({
        ...st,
        grads: accumulated.merge(recorded.grads, owner),
      });
      // the loss reader owns the raw loss from here (it may outlive the batch)
      return await losses.push(withGrads, rawLoss === st.lastLoss ? tf.clone(rawLoss) : rawLoss);
    },
    step(s: TrainState): void {
      if (!s.grads) return;
      learn.optState = optimizerStep(
        learn.optimizer,
        params,
        s.grads,
        learn.optState ?? { step: 0, slots: {} },
        s.hypers,
        { trueWd: learn.trueWd },
      );
    },
    evaluate(s: TrainState): void {
      const out = s.lastOutput!;
      const target = s.lastTarget!;
      const loss = s.lastLoss!;
      const size = target.shape[0] ?? 1;
      const previous = sums;
      sums = tf.tidy(() => {
        const row = tf.mul(
          tf.stack([loss, ...learn.metrics.map((m: Metric) => m.fn(out, target))]),
          size,
        );
        return previous ? tf.add(previous, row) : row;
      });
      previous?.dispose();
      count += size;
    },
    endBatch(s: TrainState): void {
      owner.endBatch(s.train && s.skipZero && s.grads ? accumulated.keep(s.grads) : undefined);
    },
    async endTraining(s: TrainState, seen: number): Promise<TrainState> {
      s = await losses.drain(s);
      if (seen === 0) {
        throw new RangeError("Cannot fit as the training data is empty: it yielded 0 batches");
      }
      return s;
    },
    async validationResult(): Promise<readonly number[]> {
      if (!sums) return metricNames.map(() => NaN);
      const totals = await sums.data();
      sums.dispose();
      sums = undefined;
      return Array.from(totals, (v) => v / count);
    },
    metricNames,
    pause,
    release(): void {
      owner.endBatch();
      accumulated.release();
      losses.release();
      sums?.dispose();
      sums = undefined;
    },
  };
}

function checkedLoss(s: TrainState): Scalar {
  const output = s.lastOutput!;
  const target = s.lastTarget!;
  let loss: Scalar;
  try {
    loss = s.loss(output, target);
  } catch (e) {
    if (e instanceof RangeError || e instanceof TypeError) throw e;
    throw new RangeError(
      `Cannot compute the loss for output of shape [${output.shape}] and target of shape ` +
        `[${target.shape}]: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  if (!(loss instanceof tf.Tensor) || loss.rank !== 0) {
    const shape = loss instanceof tf.Tensor ? `a tensor of shape [${loss.shape}]` : String(loss);
    throw new TypeError(
      `Cannot train as the loss must return a scalar tensor: it returned ${shape} for output ` +
        `of shape [${output.shape}] and target of shape [${target.shape}]`,
    );
  }
  return loss;
}

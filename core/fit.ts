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
import { setImmediate } from "node:timers";
import "../backend/_env.ts";
import { registerWasmTrainingKernels } from "../backend/wasm_kernels.ts";
import type { Callback, FitContext } from "./callback.ts";
import { recorder } from "./recorder.ts";
import { type History, historyOf } from "./recorder.ts";
import { _epochBatches, type _LoopBatch, _sourceLength, type DataSource } from "./data.ts";
import { type CallbackSet, handle, handleSync, prepareCallbacks } from "./handler.ts";
import { _forward, _params, _regularization, type Learner } from "./learner.ts";
import { type LearningRate, perGroup, resolveLr } from "../optim/hypers.ts";
import { optimizerStep, type Param } from "../optim/optimizer.ts";
import { loadSnapshot } from "./snapshot.ts";
import { _mixSeed } from "./_rng.ts";
import {
  beginBatch,
  beginEpoch,
  endBatch,
  endEpochBatches,
  type Hypers,
  initialState,
  recordLoss,
  type TrainState,
} from "./state.ts";
import type { Grads, Input, Scalar, Tensor } from "./types.ts";

/** Options shared by every entry point that trains (`fit`, `fitOneCycle`, `lrFind`). */
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

/** What a fit returns. */
export interface FitResult {
  /** The final training state (every callback's memory included). */
  readonly state: TrainState;
  /** The recorded history. */
  readonly history: History;
}

/** The error the loop throws inside the gradient recording to skip the backward pass. */
const SKIP_BACKWARD = Symbol("skipBackward");

/**
 * Trains the learner's model for `epochs` epochs.
 *
 * @param learn The learner.
 * @param epochs Number of epochs; a positive integer.
 * @param options Learning rate, weight decay and callbacks for this fit.
 * @returns The final state and the history.
 * @throws {RangeError} If `epochs` is not a positive integer, the lr/wd arrays do not
 * match the layer groups, the training data is empty, or a batch's inputs and targets
 * differ in size. Any error of a hook or of tfjs propagates unchanged, after onTrainEnd.
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
  if (!(Number.isInteger(epochs) && epochs >= 1)) {
    throw new RangeError(
      `Cannot fit as 'epochs' must be a positive integer: current value is ${epochs}`,
    );
  }
  const lossReadEvery = options.lossReadEvery ?? 8;
  if (!(Number.isInteger(lossReadEvery) && lossReadEvery >= 1)) {
    throw new RangeError(
      `Cannot fit as 'lossReadEvery' must be a positive integer: current value is ${lossReadEvery}`,
    );
  }
  const set = prepareCallbacks([recorder(), ...learn.callbacks, ...(options.callbacks ?? [])]);
  if (tf.getBackend() === "wasm") registerWasmTrainingKernels();
  const { params, nGroups } = _params(learn);
  const hypers = _hypers(learn, options, nGroups);
  const train = learn.data.train;
  const nBatches = _sourceLength(train);
  if (nBatches === 0) {
    throw new RangeError("Cannot fit as the training data is empty: it holds 0 batches");
  }
  const baseNames = ["validLoss", ...learn.metrics.map((m) => m.name)];
  const loop = new _Loop(learn, set, params, lossReadEvery);
  let s: TrainState;
  const resuming = options.resume !== undefined;
  if (resuming) {
    const from = typeof options.resume === "string"
      ? await loadSnapshot(learn, options.resume)
      : options.resume as TrainState;
    if (from.hypers.length !== nGroups) {
      throw new RangeError(
        `Cannot resume as the state has ${from.hypers.length} layer groups and the learner ${nGroups}`,
      );
    }
    s = {
      ...from,
      nEpochs: epochs,
      nBatches: nBatches ?? from.nBatches,
      hypers: options.lr !== undefined || options.wd !== undefined
        ? from.hypers.map((h, i) => ({ ...h, lr: hypers[i]!.lr, wd: hypers[i]!.wd }))
        : from.hypers,
      loss: from.loss ?? learn.loss,
      error: undefined,
    };
  } else {
    s = initialState({
      nEpochs: epochs,
      hypers,
      loss: learn.loss,
      metricNames: baseNames.slice(1),
      seed: options.seed ?? 0,
      ...(nBatches === undefined ? {} : { nBatches }),
    });
  }
  let failed = false;
  let error: unknown;
  try {
    if (!resuming) s = await loop.run(s, "onTrainBegin");
    const first = s.epoch;
    const skip = resuming ? s.numBatch : 0;
    for (let epoch = first; epoch < epochs && !s.stopTraining; epoch++) {
      const midEpoch = epoch === first && skip > 0;
      s = midEpoch ? { ...s, train: true } : await loop.run(beginEpoch(s, epoch), "onEpochBegin");
      s = await loop.trainEpoch(s, train, epoch, midEpoch ? skip : 0);
      let values: readonly number[] = baseNames.map(() => NaN);
      if (!s.skipValidate && learn.data.valid !== undefined) {
        [s, values] = await loop.validate(s, learn.data.valid, epoch);
      }
      s = await loop.run(endEpochBatches(s, values, baseNames), "onEpochEnd");
    }
  } catch (e) {
    failed = true;
    error = e;
  } finally {
    loop.release();
  }
  s = { ...s, error: failed ? error : undefined };
  try {
    s = await loop.run(s, "onTrainEnd");
  } catch (e) {
    if (!failed) {
      failed = true;
      error = e;
    }
  }
  if (failed) throw error;
  return { state: s, history: historyOf(s) };
}

function _hypers(learn: Learner, options: FitOptions, nGroups: number): Hypers[] {
  const lrs = resolveLr(options.lr ?? learn.lr, nGroups);
  const wds = perGroup("wd", options.wd ?? learn.wd, nGroups);
  const d = learn.optimizer.defaults;
  return lrs.map((l, i) => ({ lr: l, mom: d.mom, sqrMom: d.sqrMom, eps: d.eps, wd: wds[i]! }));
}

function _tensorsOf(value: unknown, into: Tensor[]): void {
  if (value instanceof tf.Tensor) into.push(value);
  else if (Array.isArray(value)) { for (const v of value) _tensorsOf(v, into); }
  else if (value && typeof value === "object") {
    for (const v of Object.values(value)) _tensorsOf(v, into);
  }
}

function _isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return value instanceof Promise;
}

/** The impure part of a fit: tensor ownership, lagged loss reads, the step. */
class _Loop {
  readonly #learn: Learner;
  readonly #set: CallbackSet;
  readonly #params: readonly Param[];
  readonly #variables: tf.Variable[];
  readonly #ctx: FitContext;
  readonly #readEvery: number;
  /** Tensors the loop must dispose when the batch ends. */
  #owned: Tensor[] = [];
  /** Tensors of the batch that belong to the caller (never disposed). */
  #userOwned = new Set<Tensor>();
  /** Gradients kept across batches by skipZero. */
  #pendingGrads: Grads | undefined;
  /** Training losses not yet read. */
  #lossQueue: Tensor[] = [];
  /** A read in flight: the stacked losses and their data. */
  #reading: { tensor: Tensor; data: Promise<ArrayLike<number>> } | undefined;

  /** The model's Dropout layers: their masks are seeded per batch from the state. */
  readonly #dropouts: { seed?: number }[];

  constructor(learn: Learner, set: CallbackSet, params: readonly Param[], readEvery: number) {
    this.#dropouts = learn.model instanceof tf.LayersModel
      ? learn.model.layers.filter((l) => /Dropout/.test(l.getClassName()) && "seed" in l) as {
        seed?: number;
      }[]
      : [];
    this.#learn = learn;
    this.#set = set;
    this.#params = params;
    this.#variables = params.map((p) => p.variable);
    this.#ctx = { learner: learn };
    this.#readEvery = readEvery;
  }

  run(s: TrainState, event: Parameters<typeof handle>[1]): Promise<TrainState> | TrainState {
    return handle(s, event, this.#set, this.#ctx);
  }

  /** Runs an event and takes ownership of any tensors the hooks put in the state. */
  async #event(s: TrainState, event: Parameters<typeof handle>[1]): Promise<TrainState> {
    const r = handle(s, event, this.#set, this.#ctx, this.#adopt);
    return _isPromise(r) ? await r : r;
  }

  readonly #adopt = (before: TrainState, after: TrainState): void => {
    const fresh: Tensor[] = [];
    if (after.lastInput !== before.lastInput) _tensorsOf(after.lastInput, fresh);
    if (after.lastTarget !== before.lastTarget) _tensorsOf(after.lastTarget, fresh);
    if (after.lastOutput !== before.lastOutput) _tensorsOf(after.lastOutput, fresh);
    if (after.lastLoss !== before.lastLoss) _tensorsOf(after.lastLoss, fresh);
    if (after.grads !== before.grads) _tensorsOf(after.grads, fresh);
    for (const t of fresh) if (!this.#userOwned.has(t)) this.#owned.push(t);
  };

  #own(value: unknown): void {
    _tensorsOf(value, this.#owned);
  }

  #endBatch(keep?: ReadonlySet<Tensor>): void {
    for (const t of this.#owned) {
      if (!t.isDisposed && !this.#userOwned.has(t) && !keep?.has(t)) t.dispose();
    }
    this.#owned.length = 0;
    this.#userOwned.clear();
  }

  #startBatch(batch: _LoopBatch): void {
    if (batch.owned) {
      this.#own(batch.input);
      this.#own(batch.target);
    } else {
      const mine: Tensor[] = [];
      _tensorsOf(batch.input, mine);
      _tensorsOf(batch.target, mine);
      for (const t of mine) this.#userOwned.add(t);
    }
  }

  async trainEpoch(
    s: TrainState,
    source: DataSource,
    epoch: number,
    skip: number,
  ): Promise<TrainState> {
    const it = _epochBatches(source, epoch, s.seed, skip);
    let seen = skip;
    try {
      for (;;) {
        const r = it.next();
        const item = _isPromise(r) ? await r : r;
        if (item.done) break;
        seen++;
        s = await this.#trainBatch(s, item.value);
        await this.#breathe();
        if (s.stopEpoch || s.stopTraining) break;
      }
    } finally {
      await it.return?.();
    }
    s = await this.#drainLosses(s);
    if (seen === 0) {
      throw new RangeError("Cannot fit as the training data is empty: it yielded 0 batches");
    }
    return s;
  }

  async #trainBatch(s: TrainState, batch: _LoopBatch): Promise<TrainState> {
    this.#startBatch(batch);
    s = await this.#event(beginBatch(s, batch.input, batch.target, true), "onBatchBegin");
    for (let i = 0; i < this.#dropouts.length; i++) {
      this.#dropouts[i]!.seed = _mixSeed(_mixSeed(s.seed, s.iteration), i);
    }
    const learn = this.#learn;
    const set = this.#set;
    const ctx = this.#ctx;
    let inner = s;
    let rawLoss: Scalar | undefined;
    let lossValue: Scalar | undefined;
    let grads: Grads | undefined;
    try {
      const result = tf.variableGrads(() => {
        let st: TrainState = { ...inner, lastOutput: _forward(learn, inner.lastInput!, true) };
        st = handleSync(st, "onLossBegin", set, ctx);
        let loss = _checkedLoss(st);
        const reg = _regularization(learn);
        if (reg) loss = tf.add(loss, reg) as Scalar;
        // The raw loss is what gets recorded (as fastai's recorder sees it, before any
        // onBackwardBegin replacement); the backward pass follows the replacement.
        rawLoss = tf.keep(loss);
        st = handleSync({ ...st, lastLoss: loss }, "onBackwardBegin", set, ctx);
        tf.keep(st.lastOutput!);
        inner = st;
        if (st.skipBackward) {
          tf.keep(st.lastLoss!);
          throw SKIP_BACKWARD;
        }
        return st.lastLoss as Scalar;
      }, this.#variables);
      lossValue = result.value;
      grads = result.grads as Grads;
    } catch (e) {
      _discardTape();
      if (rawLoss && !rawLoss.isDisposed && e !== SKIP_BACKWARD) rawLoss.dispose();
      if (e !== SKIP_BACKWARD) throw e;
    }
    this.#own(inner.lastOutput);
    this.#own(grads);
    const lastLoss = lossValue ?? inner.lastLoss!;
    if (lastLoss !== rawLoss) this.#own(lastLoss);
    s = { ...inner, lastLoss, grads: this.#mergePending(grads) };
    if (set.needsLoss) {
      this.#own(rawLoss);
      s = recordLoss(s, (await rawLoss!.data())[0]!);
    } else {
      s = await this.#queueLoss(s, rawLoss!);
    }
    s = await this.#event(s, "onBackwardEnd");
    if (!s.skipStep && s.grads) {
      learn.optState = optimizerStep(
        learn.optimizer,
        this.#params,
        s.grads,
        learn.optState ?? { step: 0, slots: {} },
        s.hypers,
        { trueWd: learn.trueWd },
      );
    }
    s = await this.#event(s, "onStepEnd");
    let keep: Set<Tensor> | undefined;
    if (s.skipZero && s.grads) {
      this.#pendingGrads = s.grads;
      keep = new Set(Object.values(s.grads));
    }
    s = await this.#event(s, "onBatchEnd");
    this.#endBatch(keep);
    return endBatch(s);
  }

  /**
   * On the cpu and WASM backends every await of the loop resolves at once, so without a
   * pause the event loop would not run (no signal handler, timer or I/O callback) for a
   * whole fit. Every 100 ms the loop yields to the event loop once (`setImmediate`, about
   * 8 µs here; `setTimeout(0)` costs 2 ms): Ctrl-C handlers and timers run within a
   * batch or so, at no measurable cost.
   */
  async #breathe(): Promise<void> {
    const now = performance.now();
    if (now - this.#lastYield < 100) return;
    await new Promise((resolve) => setImmediate(resolve));
    this.#lastYield = performance.now();
  }

  #lastYield = performance.now();

  /** Adds gradients kept by skipZero to this batch's. */
  #mergePending(grads: Grads | undefined): Grads | undefined {
    const pending = this.#pendingGrads;
    if (!pending) return grads;
    this.#pendingGrads = undefined;
    this.#own(pending);
    if (!grads) return pending;
    const merged: Record<string, Tensor> = {};
    for (const name of new Set([...Object.keys(pending), ...Object.keys(grads)])) {
      const a = pending[name];
      const b = grads[name];
      merged[name] = a && b ? tf.add(a, b) : (a ?? b)!;
    }
    this.#own(merged);
    return merged;
  }

  async #queueLoss(s: TrainState, loss: Tensor): Promise<TrainState> {
    this.#lossQueue.push(loss);
    if (this.#lossQueue.length < this.#readEvery) return s;
    s = await this.#collect(s);
    this.#startRead();
    return s;
  }

  #startRead(): void {
    const queue = this.#lossQueue;
    if (queue.length === 0) return;
    const tensor = queue.length === 1 ? queue[0]! : tf.stack(queue);
    if (queue.length > 1) { for (const t of queue) t.dispose(); }
    this.#lossQueue = [];
    this.#reading = { tensor, data: tensor.data() as Promise<ArrayLike<number>> };
  }

  async #collect(s: TrainState): Promise<TrainState> {
    const reading = this.#reading;
    if (!reading) return s;
    this.#reading = undefined;
    try {
      const values = await reading.data;
      for (let i = 0; i < values.length; i++) s = recordLoss(s, values[i]!);
    } finally {
      reading.tensor.dispose();
    }
    return s;
  }

  async #drainLosses(s: TrainState): Promise<TrainState> {
    s = await this.#collect(s);
    this.#startRead();
    return await this.#collect(s);
  }

  async validate(
    s: TrainState,
    source: DataSource,
    epoch: number,
  ): Promise<[TrainState, number[]]> {
    const learn = this.#learn;
    const metrics = learn.metrics;
    let sums: Tensor | undefined;
    let count = 0;
    const it = _epochBatches(source, epoch, s.seed, 0);
    try {
      for (;;) {
        const r = it.next();
        const item = _isPromise(r) ? await r : r;
        if (item.done) break;
        this.#startBatch(item.value);
        s = await this.#event(
          beginBatch(s, item.value.input, item.value.target, false),
          "onBatchBegin",
        );
        const input: Input = s.lastInput!;
        const output = tf.tidy(() => _forward(learn, input, false));
        this.#own(output);
        s = await this.#event({ ...s, lastOutput: output }, "onLossBegin");
        const out = s.lastOutput!;
        const target = s.lastTarget!;
        const loss = tf.tidy(() => _checkedLoss(s));
        this.#own(loss);
        s = { ...s, lastLoss: loss };
        const size = target.shape[0] ?? 1;
        const previous = sums;
        sums = tf.tidy(() => {
          const row = tf.mul(tf.stack([loss, ...metrics.map((m) => m.fn(out, target))]), size);
          return previous ? tf.add(previous, row) : row;
        });
        previous?.dispose();
        count += size;
        s = await this.#event(s, "onBatchEnd");
        this.#endBatch();
        s = endBatch(s);
        if (s.stopEpoch) break;
      }
    } finally {
      await it.return?.();
    }
    if (!sums) return [s, [NaN, ...metrics.map(() => NaN)]];
    const totals = await sums.data();
    sums.dispose();
    return [s, Array.from(totals, (v) => v / count)];
  }

  /** Frees everything the loop still holds (after the last epoch or an error). */
  release(): void {
    this.#endBatch();
    if (this.#pendingGrads) tf.dispose(Object.values(this.#pendingGrads));
    this.#pendingGrads = undefined;
    tf.dispose(this.#lossQueue);
    this.#lossQueue = [];
    if (this.#reading) {
      this.#reading.data.then(undefined, () => {});
      this.#reading.tensor.dispose();
      this.#reading = undefined;
    }
  }
}

/**
 * After an exception inside `tf.variableGrads` (our skipBackward sentinel, or an error),
 * tfjs leaves the recorded tape with the tensors it kept for the backward pass; free them.
 */
function _discardTape(): void {
  const state = (tf.engine() as unknown as {
    state?: { gradientDepth: number; activeTape: { saved?: Tensor[] }[] | null };
  }).state;
  if (!state || state.gradientDepth !== 0 || !state.activeTape) return;
  for (const node of state.activeTape) {
    for (const t of node.saved ?? []) if (!t.isDisposed) t.dispose();
  }
  state.activeTape = null;
}

function _checkedLoss(s: TrainState): Scalar {
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

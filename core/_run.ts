// The order of a fit's events, written once. `fit` (tensors) and `dryRun` (numbers only)
// differ in where batches, outputs, losses and gradients come from — the LoopOps — and
// share everything else: which event fires when, what the control flags do, validation,
// resuming mid-epoch, and onTrainEnd running last whatever happened.
import type { EventName } from "./callback.ts";
import { beginEpoch, endBatch, endEpochBatches, type TrainState } from "./state.ts";

/** A batch source's iterator: sync where the source is sync (no per-batch await). */
export type BatchIterator<B> = Iterator<B> | AsyncIterator<B>;

/** What differs between a real fit and a dry run. */
export interface LoopOps<B> {
  /** Runs an event's hooks (a promise only if a hook returned one). */
  event(s: TrainState, event: EventName): TrainState | Promise<TrainState>;
  /** Runs an event's hooks synchronously (inside the gradient recording). */
  eventSync(s: TrainState, event: EventName): TrainState;
  /** The training batches of `epoch`, from batch `skip` on. */
  trainBatches(s: TrainState, epoch: number, skip: number): BatchIterator<B>;
  /** The validation batches of `epoch`, or undefined without validation data. */
  validBatches(s: TrainState, epoch: number): BatchIterator<B> | undefined;
  /** The state with the batch in hand (the ops take charge of its tensors). */
  begin(s: TrainState, batch: B, train: boolean): TrainState;
  /** The model's output for the batch in hand, and the intermediate outputs asked for. */
  forward(s: TrainState, train: boolean): Pick<TrainState, "lastOutput" | "lastCaptures">;
  /** The loss of the batch in hand (training: inside the recording). */
  loss(s: TrainState): TrainState["lastLoss"];
  /**
   * Runs `body` (forward pass, onLossBegin, loss, onBackwardBegin) under gradient
   * recording, then the backward pass unless the body's state says `skipBackward`; returns
   * the state with `grads` and the training loss recorded (possibly lagged).
   */
  backward(s: TrainState, body: (s: TrainState) => TrainState): Promise<TrainState>;
  /** Applies the optimizer step with `s.grads` and `s.hypers` (nothing without gradients). */
  step(s: TrainState): void;
  /** Adds a validation batch's loss and metrics to the epoch's sums. */
  evaluate(s: TrainState): void;
  /** Ends a batch: frees its tensors (keeping gradients when `s.skipZero`). */
  endBatch(s: TrainState): void;
  /** After an epoch's training batches: losses still pending are recorded. */
  endTraining(s: TrainState, batchesSeen: number): Promise<TrainState>;
  /** The epoch's validation loss and metrics (NaN where nothing was evaluated). */
  validationResult(): Promise<readonly number[]>;
  /** Names of the validation loss and metrics (`"validLoss"` first). */
  readonly metricNames: readonly string[];
  /** Awaited after every batch (yields to the event loop now and then). */
  pause(): Promise<void> | undefined;
  /** Frees everything the ops still hold (after the last epoch or an error). */
  release(): void;
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return value instanceof Promise;
}

async function next<B>(it: BatchIterator<B>): Promise<IteratorResult<B>> {
  const r = it.next();
  return isPromise(r) ? await r : r;
}

/** Where a run starts: a fresh state, or a resumed one (onTrainBegin is not run again). */
export interface RunStart {
  /** The state to start from. */
  readonly state: TrainState;
  /** Whether it is a resumed run (mid-epoch included). */
  readonly resuming: boolean;
}

/**
 * Runs a whole fit: onTrainBegin, then per epoch onEpochBegin, the training batches,
 * validation (unless skipped or absent), onEpochEnd; onTrainEnd always runs last, with
 * `state.error` set when training failed. After a failure onTrainEnd gets the state the
 * last completed event left (callbacks' memory as of that event, the batch's tensors
 * cleared), so a callback holding tensors in memory can free them. An error of onTrainEnd
 * after a training error is kept: both are thrown together as an AggregateError.
 */
export async function runFit<B>(loopOps: LoopOps<B>, start: RunStart): Promise<TrainState> {
  let s = start.state;
  let reached = s; // the state the last completed event left
  const ops: LoopOps<B> = {
    ...loopOps,
    event(st, e) {
      const r = loopOps.event(st, e);
      return isPromise(r) ? r.then((x) => (reached = x)) : (reached = r);
    },
    eventSync: (st, e) => (reached = loopOps.eventSync(st, e)),
  };
  let failure: { error: unknown } | undefined;
  try {
    if (!start.resuming) s = await ops.event(s, "onTrainBegin");
    const first = s.epoch;
    const skip = start.resuming ? s.numBatch : 0;
    for (let epoch = first; epoch < s.nEpochs && !s.stopTraining; epoch++) {
      const midEpoch = epoch === first && skip > 0;
      s = midEpoch
        ? Object.freeze({ ...s, train: true })
        : await ops.event(beginEpoch(s, epoch), "onEpochBegin");
      s = await trainEpoch(ops, s, epoch, midEpoch ? skip : 0);
      let values: readonly number[] = ops.metricNames.map(() => NaN);
      const valid = s.skipValidate ? undefined : ops.validBatches(s, epoch);
      // a training batch's stopEpoch ended the training loop; validation runs in full
      if (valid) [s, values] = await validate(ops, { ...s, stopEpoch: false }, valid);
      s = await ops.event(endEpochBatches(s, values, ops.metricNames), "onEpochEnd");
    }
  } catch (error) {
    failure = { error };
    s = Object.freeze({ ...reached, ...NO_BATCH });
  } finally {
    ops.release();
  }
  s = Object.freeze({ ...s, error: failure?.error });
  try {
    s = await ops.event(s, "onTrainEnd");
  } catch (error) {
    if (!failure) throw error;
    throw new AggregateError(
      [failure.error, error],
      `Training failed (${describe(failure.error)}) and onTrainEnd failed too (${describe(error)})`,
    );
  }
  if (failure) throw failure.error;
  return s;
}

const NO_BATCH = {
  lastInput: undefined,
  lastTarget: undefined,
  lastOutput: undefined,
  lastLoss: undefined,
  grads: undefined,
} as const;

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

async function trainEpoch<B>(
  ops: LoopOps<B>,
  s: TrainState,
  epoch: number,
  skip: number,
): Promise<TrainState> {
  const it = ops.trainBatches(s, epoch, skip);
  let seen = skip;
  try {
    for (;;) {
      const item = await next(it);
      if (item.done) break;
      seen++;
      s = await trainBatch(ops, s, item.value);
      const pause = ops.pause();
      if (pause) await pause;
      if (s.stopEpoch || s.stopTraining) break;
    }
  } finally {
    await it.return?.();
  }
  return await ops.endTraining(s, seen);
}

/**
 * One training batch: onBatchBegin; under gradient recording the forward pass,
 * onLossBegin, the loss and onBackwardBegin; the backward pass (unless skipped);
 * onBackwardEnd; the optimizer step (unless skipped); onStepEnd; onBatchEnd.
 */
async function trainBatch<B>(ops: LoopOps<B>, s: TrainState, batch: B): Promise<TrainState> {
  s = await ops.event(ops.begin(s, batch, true), "onBatchBegin");
  s = await ops.backward(s, (st) => {
    st = ops.eventSync(Object.freeze({ ...st, ...ops.forward(st, true) }), "onLossBegin");
    return ops.eventSync(Object.freeze({ ...st, lastLoss: ops.loss(st) }), "onBackwardBegin");
  });
  s = await ops.event(s, "onBackwardEnd");
  if (!s.skipStep) ops.step(s);
  s = await ops.event(s, "onStepEnd");
  s = await ops.event(s, "onBatchEnd");
  ops.endBatch(s);
  return endBatch(s);
}

/** Validation: per batch onBatchBegin, forward pass, onLossBegin, loss and metrics, onBatchEnd. */
async function validate<B>(
  ops: LoopOps<B>,
  s: TrainState,
  it: BatchIterator<B>,
): Promise<[TrainState, readonly number[]]> {
  try {
    for (;;) {
      const item = await next(it);
      if (item.done) break;
      s = await ops.event(ops.begin(s, item.value, false), "onBatchBegin");
      s = await ops.event(Object.freeze({ ...s, ...ops.forward(s, false) }), "onLossBegin");
      s = Object.freeze({ ...s, lastLoss: ops.loss(s) });
      ops.evaluate(s);
      s = await ops.event(s, "onBatchEnd");
      ops.endBatch(s);
      s = endBatch(s);
      if (s.stopEpoch) break;
    }
  } finally {
    await it.return?.();
  }
  return [s, await ops.validationResult()];
}

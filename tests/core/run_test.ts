// The event order of core/_run.ts, shared by fit and dryRun, driven through a scripted
// LoopOps that logs every call: no tensors, so each expectation is a list written by hand
// from the documented order (fastai v1's fit/validate).
import { assert, assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import type { Callback, EventName } from "../../core/callback.ts";
import { handle, handleSync, prepareCallbacks } from "../../core/handler.ts";
import { beginBatch, initialState, type TrainState } from "../../core/state.ts";
import { type LoopOps, runFit } from "../../core/_run.ts";

interface Script {
  /** Epochs of the fit. */
  epochs: number;
  /** Training batches per epoch. */
  train: number;
  /** Validation batches per epoch (0: no validation data). */
  valid: number;
  /** The state to resume from (else a fresh one). */
  resume?: TrainState;
  /** Throw from the training batch with this iteration (in the backward pass). */
  failAt?: number;
  /** On failure, reject with a `Failed` holding the log. */
  keepLog?: boolean;
  /** Batches come from async iterators (as from a tf.data.Dataset). */
  async?: boolean;
  /** After each training batch, a pause that ends on a later macrotask (logs "resumed"). */
  pause?: boolean;
}

interface Ran {
  state: TrainState;
  log: string[];
}

/** What a failed run logged, and its error. */
class Failed extends Error {
  constructor(readonly log: string[], readonly error: unknown) {
    super("the run failed");
  }
}

const H = [{ lr: 0.1, mom: 0.9, sqrMom: 0.99, eps: 1e-7, wd: 0 }];

function fresh(epochs: number): TrainState {
  return initialState({
    nEpochs: epochs,
    hypers: H,
    loss: () => {
      throw new Error("unused");
    },
  });
}

/** An iterator over from..to-1 that logs when the loop closes it. */
function counter(from: number, to: number, log: string[], what: string): Iterator<number> {
  let i = from;
  return {
    next: () => (i < to ? { done: false, value: i++ } : { done: true, value: undefined }),
    return: () => {
      log.push(`close ${what}`);
      return { done: true, value: undefined };
    },
  };
}

/** The same, answering with promises. */
function asyncCounter(
  from: number,
  to: number,
  log: string[],
  what: string,
): AsyncIterator<number> {
  const it = counter(from, to, log, what);
  return {
    next: () => Promise.resolve(it.next()),
    return: () => Promise.resolve(it.return!()),
  };
}

/**
 * Runs the callbacks through runFit with ops that log each call: events as
 * "onBatchBegin t0" (train, batch value 0) or "onBatchBegin v1" (validation batch 1).
 */
async function run(callbacks: readonly Callback[], script: Script): Promise<Ran> {
  const log: string[] = [];
  const set = prepareCallbacks(callbacks);
  let batch = -1;
  let validSum = 0;
  let validCount = 0;
  const where = (s: TrainState, e: EventName): string =>
    ["onBatchBegin", "onLossBegin", "onBatchEnd"].includes(e)
      ? `${e} ${s.train ? "t" : "v"}${batch}`
      : ["onBackwardBegin", "onBackwardEnd", "onStepEnd"].includes(e)
      ? `${e} t${batch}`
      : e === "onEpochBegin" || e === "onEpochEnd"
      ? `${e} ${s.epoch}`
      : e;
  const ops: LoopOps<number> = {
    event: (s, e) => {
      log.push(where(s, e));
      return handle(s, e, set, {});
    },
    eventSync: (s, e) => {
      log.push(where(s, e));
      return handleSync(s, e, set, {});
    },
    trainBatches: (s, epoch, skip) => {
      log.push(`train ${epoch} from ${skip}${s.train ? "" : " (not a training state)"}`);
      return (script.async ? asyncCounter : counter)(skip, script.train, log, "train");
    },
    validBatches: (_s, epoch) => {
      if (script.valid === 0) return undefined;
      log.push(`valid ${epoch}`);
      validSum = 0;
      validCount = 0;
      return (script.async ? asyncCounter : counter)(0, script.valid, log, "valid");
    },
    begin: (s, b, train) => {
      batch = b;
      return beginBatch(s, undefined as never, undefined as never, train);
    },
    forward: (_s, train) => {
      log.push(`forward ${train ? "t" : "v"}${batch}`);
      return { lastOutput: undefined, lastCaptures: _s.lastCaptures };
    },
    loss: (s) => void log.push(`loss ${s.train ? "t" : "v"}${batch}`),
    backward: (s, body) => {
      const st = body(s);
      if (script.failAt === st.iteration) throw new Error(`backward failed at ${st.iteration}`);
      log.push(st.skipBackward ? `no backward t${batch}` : `backward t${batch}`);
      return Promise.resolve(st);
    },
    step: () => void log.push(`step t${batch}`),
    evaluate: () => {
      log.push(`evaluate v${batch}`);
      validSum += 10 + batch;
      validCount++;
    },
    endBatch: (s) => void log.push(`end ${s.train ? "t" : "v"}${batch}`),
    endTraining: (s, seen) => {
      log.push(`trained ${seen}`);
      return Promise.resolve(s);
    },
    validationResult: () => Promise.resolve([validCount ? validSum / validCount : NaN]),
    metricNames: ["validLoss"],
    pause: () =>
      script.pause
        ? new Promise<void>((r) => setTimeout(() => r(void log.push("resumed")), 0))
        : undefined,
    release: () => void log.push("release"),
  };
  const state = await runFit(ops, {
    state: script.resume ?? fresh(script.epochs),
    resuming: script.resume !== undefined,
  }).catch((error) => {
    throw script.keepLog ? new Failed(log, error) : error;
  });
  return { state, log };
}

const trainBatch = (b: number): string[] => [
  `onBatchBegin t${b}`,
  `forward t${b}`,
  `onLossBegin t${b}`,
  `loss t${b}`,
  `onBackwardBegin t${b}`,
  `backward t${b}`,
  `onBackwardEnd t${b}`,
  `step t${b}`,
  `onStepEnd t${b}`,
  `onBatchEnd t${b}`,
  `end t${b}`,
];
const validBatch = (b: number): string[] => [
  `onBatchBegin v${b}`,
  `forward v${b}`,
  `onLossBegin v${b}`,
  `loss v${b}`,
  `evaluate v${b}`,
  `onBatchEnd v${b}`,
  `end v${b}`,
];

Deno.test("runFit() fires fastai's order: train batches, validation batches, epoch and train events", async () => {
  const { state, log } = await run([], { epochs: 2, train: 2, valid: 2 });
  const epoch = (e: number): string[] => [
    `onEpochBegin ${e}`,
    `train ${e} from 0`,
    ...trainBatch(0),
    ...trainBatch(1),
    "close train",
    "trained 2",
    `valid ${e}`,
    ...validBatch(0),
    ...validBatch(1),
    "close valid",
    `onEpochEnd ${e}`,
  ];
  assertEquals(log, ["onTrainBegin", ...epoch(0), ...epoch(1), "release", "onTrainEnd"]);
  assertEquals([state.epoch, state.iteration, state.numBatch, state.train], [1, 4, 2, false]);
  assertEquals(state.lastMetrics, [10.5]); // mean of 10 and 11
  assertEquals(state.error, undefined);
});

Deno.test("runFit() without validation data goes straight from training to onEpochEnd with NaN metrics", async () => {
  const { state, log } = await run([], { epochs: 1, train: 1, valid: 0 });
  assertEquals(log, [
    "onTrainBegin",
    "onEpochBegin 0",
    "train 0 from 0",
    ...trainBatch(0),
    "close train",
    "trained 1",
    "onEpochEnd 0",
    "release",
    "onTrainEnd",
  ]);
  assert(Number.isNaN(state.lastMetrics[0]));
});

Deno.test("stopEpoch set during validation ends the validation loop after that batch", async () => {
  const stop: Callback = {
    name: "stop",
    onBatchEnd: (s) => (!s.train && s.epoch === 0 ? { stopEpoch: true } : undefined),
  };
  const { state, log } = await run([stop], { epochs: 2, train: 1, valid: 3 });
  const evaluated = log.filter((l) => l.startsWith("evaluate"));
  // epoch 0: one validation batch, then the loop stops; epoch 1: all three
  assertEquals(evaluated, ["evaluate v0", "evaluate v0", "evaluate v1", "evaluate v2"]);
  assertEquals(log.slice(log.indexOf("valid 0"), log.indexOf("onEpochEnd 0") + 1), [
    "valid 0",
    ...validBatch(0),
    "close valid",
    "onEpochEnd 0",
  ]);
  assertEquals(state.lastMetrics, [11]); // epoch 1: mean of 10, 11, 12
});

Deno.test("stopEpoch set by a training batch ends the training batches but not the validation", async () => {
  const stop: Callback = {
    name: "stop",
    onBatchEnd: (s) => (s.train && s.numBatch === 1 ? { stopEpoch: true } : undefined),
  };
  const { state, log } = await run([stop], { epochs: 2, train: 4, valid: 3 });
  assertEquals(log.filter((l) => l.startsWith("step")), [
    "step t0",
    "step t1",
    "step t0",
    "step t1",
  ]);
  assertEquals(log.filter((l) => l.startsWith("evaluate")).length, 6);
  assertEquals(state.lastMetrics, [11]);
  assertEquals(state.iteration, 4);
});

Deno.test("stopTraining from a batch ends the epoch's batches, validates, and ends the fit", async () => {
  const stop: Callback = {
    name: "stop",
    onBatchEnd: (s) => (s.train && s.iteration === 1 ? { stopTraining: true } : undefined),
  };
  const { log } = await run([stop], { epochs: 3, train: 3, valid: 1 });
  assertEquals(log, [
    "onTrainBegin",
    "onEpochBegin 0",
    "train 0 from 0",
    ...trainBatch(0),
    ...trainBatch(1),
    "close train",
    "trained 2",
    "valid 0",
    ...validBatch(0),
    "close valid",
    "onEpochEnd 0",
    "release",
    "onTrainEnd",
  ]);
});

Deno.test("stopTraining from onEpochEnd ends the fit after that epoch", async () => {
  const stop: Callback = {
    name: "stop",
    onEpochEnd: (s) => (s.epoch === 1 ? { stopTraining: true } : undefined),
  };
  const { state, log } = await run([stop], { epochs: 5, train: 1, valid: 1 });
  assertEquals(log.filter((l) => l.startsWith("onEpochEnd")), ["onEpochEnd 0", "onEpochEnd 1"]);
  assertEquals(state.iteration, 2);
});

Deno.test("skipStep skips the optimizer step only; skipBackward is carried to the backward pass", async () => {
  const skip: Callback = {
    name: "skip",
    onBackwardBegin: (s) => (s.iteration === 0 ? { skipBackward: true } : undefined),
    onBackwardEnd: (s) => (s.iteration === 1 ? { skipStep: true } : undefined),
  };
  const { log } = await run([skip], { epochs: 1, train: 3, valid: 0 });
  assertEquals(log.filter((l) => /backward t|step t/.test(l)), [
    "no backward t0",
    "step t0",
    "backward t1",
    "backward t2",
    "step t2",
  ]);
  assert(log.includes("onStepEnd t1"), "onStepEnd fires even when the step is skipped");
});

Deno.test("skipValidate set in onTrainBegin skips every epoch's validation", async () => {
  const skip: Callback = { name: "skip", onTrainBegin: () => ({ skipValidate: true }) };
  const { state, log } = await run([skip], { epochs: 2, train: 1, valid: 2 });
  assertEquals(log.filter((l) => l.startsWith("valid") || l.startsWith("evaluate")), []);
  assert(Number.isNaN(state.lastMetrics[0]));
});

Deno.test("an error in onTrainEnd after a successful fit reaches the caller", async () => {
  const bad: Callback = {
    name: "bad",
    onTrainEnd: () => {
      throw new RangeError("onTrainEnd broke");
    },
  };
  await assertRejects(() => run([bad], { epochs: 1, train: 1, valid: 1 }), RangeError, "broke");
  const badAsync: Callback = {
    name: "bad",
    onTrainEnd: () => Promise.reject(new TypeError("async onTrainEnd broke")),
  };
  await assertRejects(() => run([badAsync], { epochs: 1, train: 1, valid: 0 }), TypeError);
});

Deno.test("a training error reaches onTrainEnd in state.error and then the caller; both errors when onTrainEnd fails too", async () => {
  let seen: unknown;
  const watch: Callback = { name: "watch", onTrainEnd: (s) => void (seen = s.error) };
  const log: string[] = [];
  const logger: Callback = { name: "logger", onEpochEnd: () => void log.push("epoch end") };
  await assertRejects(
    () => run([watch, logger], { epochs: 2, train: 3, valid: 1, failAt: 4 }),
    Error,
    "backward failed at 4",
  );
  assertInstanceOf(seen, Error);
  assertEquals((seen as Error).message, "backward failed at 4");
  assertEquals(log, ["epoch end"]); // epoch 0 ended; epoch 1 failed in its second batch

  const bad: Callback = {
    name: "bad",
    onTrainEnd: () => {
      throw new RangeError("cleanup failed");
    },
  };
  const error = await assertRejects(
    () => run([bad], { epochs: 1, train: 2, valid: 0, failAt: 1 }),
    AggregateError,
  );
  assertEquals(error.errors.map((e: Error) => e.message), [
    "backward failed at 1",
    "cleanup failed",
  ]);
  assert(
    error.message.includes("backward failed at 1") && error.message.includes("cleanup failed"),
  );
});

Deno.test("an error ends the run: the iterator closed, the ops released, then onTrainEnd", async () => {
  const failed = await assertRejects(
    () => run([], { epochs: 2, train: 3, valid: 1, failAt: 1, keepLog: true }),
    Failed,
  );
  assertEquals((failed.error as Error).message, "backward failed at 1");
  assertEquals(failed.log, [
    "onTrainBegin",
    "onEpochBegin 0",
    "train 0 from 0",
    ...trainBatch(0),
    ...trainBatch(1).slice(0, 5),
    "close train",
    "release",
    "onTrainEnd",
  ]);
});

Deno.test("a resumed run starts at the saved batch: no onTrainBegin, no onEpochBegin for that epoch", async () => {
  const resume: TrainState = { ...fresh(3), epoch: 1, numBatch: 2, iteration: 5 };
  const { state, log } = await run([], { epochs: 3, train: 3, valid: 1, resume });
  assertEquals(log.slice(0, 3), ["train 1 from 2", ...trainBatch(2).slice(0, 2)]);
  // a state resumed from validation trains as a training state
  const fromValid = await run([], {
    epochs: 2,
    train: 3,
    valid: 0,
    resume: { ...resume, nEpochs: 2, train: false },
  });
  assertEquals(fromValid.log[0], "train 1 from 2");
  assertEquals(log.filter((l) => l.startsWith("onTrainBegin")), []);
  assertEquals(log.filter((l) => l.startsWith("onEpochBegin")), ["onEpochBegin 2"]);
  assertEquals(log.filter((l) => l.startsWith("trained")), ["trained 3", "trained 3"]);
  assertEquals(state.iteration, 9); // 5 + 1 (rest of epoch 1) + 3 (epoch 2)
  assertEquals([state.epoch, state.numBatch], [2, 3]);
  // resumed at an epoch boundary: that epoch begins normally
  const boundary: TrainState = { ...fresh(2), epoch: 1, numBatch: 0, iteration: 3 };
  const b = await run([], { epochs: 2, train: 3, valid: 0, resume: boundary });
  assertEquals(b.log.slice(0, 2), ["onEpochBegin 1", "train 1 from 0"]);
  assertEquals(b.state.iteration, 6);
});

Deno.test("a resumed run that has already done every epoch runs only onTrainEnd", async () => {
  const done: TrainState = { ...fresh(2), epoch: 2, numBatch: 0, iteration: 6 };
  const { log } = await run([], { epochs: 2, train: 3, valid: 1, resume: done });
  assertEquals(log, ["release", "onTrainEnd"]);
});

Deno.test("async batch iterators give the same order as sync ones", async () => {
  const sync = await run([], { epochs: 2, train: 2, valid: 2 });
  const async = await run([], { epochs: 2, train: 2, valid: 2, async: true });
  assertEquals(async.log, sync.log);
  assertEquals(async.state.lastMetrics, [10.5]);
});

Deno.test("the loop waits for the pause after every training batch before going on", async () => {
  const { log } = await run([], { epochs: 1, train: 2, valid: 1, pause: true });
  assertEquals(log.slice(3), [
    ...trainBatch(0),
    "resumed",
    ...trainBatch(1),
    "resumed",
    "close train",
    "trained 2",
    "valid 0",
    ...validBatch(0),
    "close valid",
    "onEpochEnd 0",
    "release",
    "onTrainEnd",
  ]);
});

Deno.test("after an error, onTrainEnd sees the state the last completed event left, async hooks too", async () => {
  for (const async of [false, true]) {
    let end: TrainState | undefined;
    const mark: Callback = {
      name: "mark",
      onEpochBegin: (s) =>
        async ? Promise.resolve({ memory: `epoch ${s.epoch}` }) : { memory: `epoch ${s.epoch}` },
    };
    const fail: Callback = {
      name: "fail",
      onBatchBegin: (s) => {
        if (s.epoch === 1) throw new Error("batch refused");
      },
      onTrainEnd: (s) => void (end = s),
    };
    await assertRejects(
      () => run([mark, fail], { epochs: 2, train: 3, valid: 1 }),
      Error,
      "batch refused",
    );
    assertEquals(end?.epoch, 1);
    assertEquals(end?.memory.mark, "epoch 1");
    assertEquals([end?.iteration, end?.train], [3, true]);
    assertEquals((end?.error as Error).message, "batch refused");
  }
});

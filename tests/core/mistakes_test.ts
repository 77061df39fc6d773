// A new user's mistakes (issue 16): each is a clear error before any weight moves, naming
// the argument or callback, the bad value and what was expected, and leaving the weights
// (bit for bit), the optimizer state, the files and the tensor count as they were; or it
// works as a user expects.
import * as tf from "@tensorflow/tfjs";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import type { Callback, StateUpdate } from "../../core/callback.ts";
import { memoryOf } from "../../core/callback.ts";
import { batches } from "../../core/data.ts";
import { fit } from "../../core/fit.ts";
import { disposeLearner, type Learner, learner } from "../../core/learner.ts";
import { crossEntropy } from "../../core/losses.ts";
import { accuracy } from "../../core/metrics.ts";
import type { TrainState } from "../../core/state.ts";
import { logToArray } from "../../core/log.ts";
import { snapshot } from "../../core/snapshot.ts";
import { adam } from "../../optim/adam.ts";
import { earlyStopping } from "../../callbacks/early_stopping.ts";
import { saveModel } from "../../callbacks/save_model.ts";
import { reduceLROnPlateau } from "../../callbacks/reduce_lr_on_plateau.ts";
import { paramScheduler } from "../../callbacks/param_scheduler.ts";
import { lrFind } from "../../callbacks/lr_finder.ts";
import { fitOneCycle } from "../../callbacks/one_cycle.ts";
import { csvLogger } from "../../callbacks/csv_logger.ts";
import { timeLimit } from "../../callbacks/time_limit.ts";
import { annealingNo } from "../../schedules/annealing.ts";
import { blobs, disposeBatches, mlp, useCpu } from "../_helpers.ts";

await useCpu();

/** What must not change: weights, optimizer state, tensor count and the files in `dir`. */
interface Before {
  readonly weights: Float32Array[];
  readonly step: number | undefined;
  readonly steps: Readonly<Record<string, number>> | undefined;
  readonly slots: Float32Array[];
  readonly tensors: number;
  readonly files: string[];
}

async function filesIn(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    out.push(e.name);
    if (e.isDirectory) {
      out.push(...(await filesIn(`${dir}/${e.name}`)).map((f) => `${e.name}/${f}`));
    }
  }
  return out.sort();
}

async function capture(learn: Learner, dir: string): Promise<Before> {
  const model = learn.model as tf.LayersModel;
  const weights = await Promise.all(model.trainableWeights.map(async (w) => {
    return new Float32Array(await w.read().data() as Float32Array);
  }));
  const slots = await Promise.all(
    Object.values(learn.optState?.slots ?? {}).flat().map(async (v) =>
      new Float32Array(await v.data() as Float32Array)
    ),
  );
  return {
    weights,
    step: learn.optState?.step,
    steps: learn.optState?.steps ? { ...learn.optState.steps } : undefined,
    slots,
    tensors: tf.memory().numTensors,
    files: await filesIn(dir),
  };
}

async function assertUnchanged(learn: Learner, dir: string, before: Before): Promise<void> {
  const after = await capture(learn, dir);
  assertEquals(after.tensors, before.tensors, "tensor count");
  assertEquals(after.files, before.files, "files");
  assertEquals(after.step, before.step, "optimizer step");
  assertEquals(after.steps, before.steps, "optimizer steps per parameter");
  assertEquals(after.slots, before.slots, "optimizer slots");
  assertEquals(after.weights, before.weights, "weights, bit for bit");
}

/** A trained learner (so that it has optimizer state), a temp dir, and a check. */
async function rig(withValid = true): Promise<{
  learn: Learner;
  dir: string;
  expectNothingChanged(
    run: () => Promise<unknown> | unknown,
    type: ErrorConstructor,
    fragment: string,
  ): Promise<void>;
  dispose(): Promise<void>;
}> {
  const train = blobs(64, 5, 16);
  const valid = blobs(32, 6, 16);
  const model = mlp(3);
  const learn = learner({
    model,
    data: withValid ? { train, valid } : { train },
    loss: crossEntropy,
    metrics: [accuracy],
  });
  await fit(learn, 1, { lr: 1e-2 });
  const dir = await Deno.makeTempDir();
  return {
    learn,
    dir,
    async expectNothingChanged(run, type, fragment) {
      const before = await capture(learn, dir);
      await assertRejects(async () => await run(), type, fragment);
      await assertUnchanged(learn, dir, before);
    },
    async dispose() {
      disposeLearner(learn);
      disposeBatches(train, valid);
      model.dispose();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const hook = (name: string, hooks: Partial<Callback>): Callback => ({ name, ...hooks });

// ---- callbacks that need validation data, in a fit that has none ----

Deno.test("earlyStopping() in a fit without validation data: refused at the start", async () => {
  const r = await rig(false);
  await r.expectNothingChanged(
    () => fit(r.learn, 10, { callbacks: [earlyStopping()] }),
    TypeError,
    "Cannot fit as callback 'earlyStopping' monitors 'validLoss', which is computed on " +
      "validation data, and this fit has none",
  );
  // monitoring the training loss works without validation data
  const { state } = await fit(r.learn, 2, { callbacks: [earlyStopping({ monitor: "trainLoss" })] });
  assertEquals(state.memory.earlyStopping !== undefined, true);
  await r.dispose();
});

Deno.test("saveModel() without validation data: refused, nothing written", async () => {
  const r = await rig(false);
  await r.expectNothingChanged(
    () => fit(r.learn, 3, { callbacks: [saveModel({ dir: `${r.dir}/best` })] }),
    TypeError,
    "callback 'saveModel' monitors 'validLoss'",
  );
  await r.dispose();
});

Deno.test("reduceLROnPlateau() without validation data: refused", async () => {
  const r = await rig(false);
  await r.expectNothingChanged(
    () => fit(r.learn, 3, { callbacks: [reduceLROnPlateau()] }),
    TypeError,
    "callback 'reduceLROnPlateau' monitors 'validLoss'",
  );
  await r.dispose();
});

Deno.test("monitor 'valid_loss' (fastai's column name): refused at the start, with the name to use", async () => {
  const r = await rig();
  await r.expectNothingChanged(
    () => fit(r.learn, 3, { callbacks: [earlyStopping({ monitor: "valid_loss" })] }),
    RangeError,
    "monitors 'valid_loss', which is not a metric of this fit: did you mean 'validLoss'? " +
      "Metrics are trainLoss, validLoss, accuracy",
  );
  await r.dispose();
});

// ---- labels the model cannot output ----

Deno.test("class labels outside the model's outputs: refused on the first batch, before a step", async () => {
  const r = await rig();
  const x = tf.randomNormal([32, 2], 0, 1, "float32", 9);
  const y = tf.tensor1d(Array.from({ length: 32 }, (_, i) => 5 + (i % 2)), "int32");
  const bad = learner({
    model: r.learn.model,
    data: { train: batches(x, y, { batchSize: 8 }) },
    loss: crossEntropy,
  });
  bad.optState = r.learn.optState;
  const before = await capture(bad, r.dir);
  await assertRejects(
    () => fit(bad, 2),
    RangeError,
    "are not integers in [0, 1] for a model with 2 outputs: they range from 5 to 6",
  );
  await assertUnchanged(bad, r.dir, before);
  tf.dispose([x, y]);
  await r.dispose();
});

// ---- hyper-parameters ----

Deno.test("paramScheduler({ momentum }) (the optimizer reads 'mom'): refused with the name", async () => {
  const r = await rig();
  await r.expectNothingChanged(
    () => fit(r.learn, 2, { callbacks: [paramScheduler({ momentum: annealingNo(0.9) })] }),
    TypeError,
    "callback 'paramScheduler' sets hyper-parameter 'momentum', which the optimizer (adam) " +
      "does not read and no callback owns: did you mean 'mom'?",
  );
  // a callback may own a hyper-parameter of its own, and another may schedule it
  const owner = hook("owner", { ownsHypers: ["beta"] });
  await fit(r.learn, 1, { callbacks: [owner, paramScheduler({ beta: annealingNo(0.5) })] });
  await r.dispose();
});

Deno.test("a hook setting lr to NaN, or negative: refused in the reducer, naming the callback", async () => {
  const r = await rig();
  const setLr = (lr: number) =>
    hook("badLr", {
      onBatchBegin: (s: TrainState): StateUpdate => ({
        hypers: s.hypers.map((h) => ({ ...h, lr })),
      }),
    });
  await r.expectNothingChanged(
    () => fit(r.learn, 1, { callbacks: [setLr(NaN)] }),
    RangeError,
    "Callback 'badLr' set 'hypers' in onBatchBegin: 'hypers[0].lr' must be a finite number: " +
      "current value is NaN",
  );
  await r.expectNothingChanged(
    () => fit(r.learn, 1, { callbacks: [setLr(-1e-3)] }),
    RangeError,
    "'hypers[0].lr' must be >= 0: current value is -0.001",
  );
  await r.dispose();
});

Deno.test("a hook returning a hyper-parameter nobody reads, or dropping one: refused", async () => {
  const r = await rig();
  await r.expectNothingChanged(
    () =>
      fit(r.learn, 1, {
        callbacks: [hook("typo", {
          onBatchBegin: (s: TrainState) => ({
            hypers: s.hypers.map((h) => ({ ...h, momentum: 0.8 })),
          }),
        })],
      }),
    TypeError,
    "Callback 'typo' set 'hypers' in onBatchBegin: 'hypers[0].momentum' is not a hyper-parameter " +
      "the optimizer reads or a callback owns: did you mean 'mom'?",
  );
  await r.expectNothingChanged(
    () =>
      fit(r.learn, 1, {
        callbacks: [hook("onlyLr", { onBatchBegin: () => ({ hypers: [{ lr: 0.1 }] as never }) })],
      }),
    TypeError,
    "'hypers[0]' lacks 'mom'",
  );
  await r.dispose();
});

Deno.test("fit options of the wrong kind or sign: lr -1e-3, lr '1e-3', epochs '3', wd -1", async () => {
  const r = await rig();
  await r.expectNothingChanged(
    () => fit(r.learn, 2, { lr: -1e-3 }),
    RangeError,
    "Cannot fit as 'lr' must be a finite number >= 0: current value is -0.001",
  );
  await r.expectNothingChanged(
    () => fit(r.learn, 2, { lr: "1e-3" as never }),
    TypeError,
    `Cannot fit as 'lr' must be a number, an array of numbers (one per layer group) or lrRange(): current value is "1e-3" (a string)`,
  );
  await r.expectNothingChanged(
    () => fit(r.learn, "3" as never),
    TypeError,
    `Cannot fit as 'epochs' must be a positive integer: current value is "3" (a string)`,
  );
  await r.expectNothingChanged(
    () => fit(r.learn, 2, { wd: -1 }),
    RangeError,
    "'wd' must be a finite number >= 0",
  );
  await r.expectNothingChanged(
    () => fit(r.learn, 2, { seed: "1" as never }),
    TypeError,
    `'seed' must be an integer: current value is "1" (a string)`,
  );
  await r.dispose();
});

// ---- names: hooks, options ----

Deno.test("a misspelled hook (onEpochEnds): refused with the hook it should be", async () => {
  const r = await rig();
  await r.expectNothingChanged(
    () => fit(r.learn, 2, { callbacks: [{ name: "mine", onEpochEnds: () => {} } as Callback] }),
    TypeError,
    "Cannot use callback 'mine' as 'onEpochEnds' is not a hook or field of a callback: did you " +
      "mean 'onEpochEnd'?",
  );
  await r.dispose();
});

Deno.test("an unknown fit option ({ callback: [] }): refused with the option it should be", async () => {
  const r = await rig();
  await r.expectNothingChanged(
    () => fit(r.learn, 2, { callback: [] } as never),
    TypeError,
    "Cannot fit as 'callback' is not an option: did you mean 'callbacks'? Options are lr, wd, " +
      "callbacks, lossReadEvery, seed, resume",
  );
  await r.expectNothingChanged(
    () => fitOneCycle(r.learn, 2, { lr_max: 0.01 } as never),
    TypeError,
    "Cannot fitOneCycle as 'lr_max' is not an option: did you mean 'lrMax'?",
  );
  await r.dispose();
});

Deno.test("a callback factory passed instead of its callback: refused with the fix", async () => {
  const r = await rig();
  await r.expectNothingChanged(
    () => fit(r.learn, 2, { callbacks: [earlyStopping as never] }),
    TypeError,
    "(call the factory: earlyStopping(), not earlyStopping)",
  );
  await r.dispose();
});

Deno.test("callback options: unknown keys and bad values are refused when the callback is made", () => {
  assertThrows(
    () => earlyStopping({ patiance: 2 } as never),
    TypeError,
    "Cannot create earlyStopping as 'patiance' is not an option: did you mean 'patience'? " +
      "Options are monitor, mode, minDelta, patience, restoreBest, name",
  );
  assertThrows(
    () => earlyStopping({ mode: "maximize" as never }),
    RangeError,
    `Cannot create earlyStopping as 'mode' must be "min" or "max": current value is "maximize" (a string): did you mean 'max'?`,
  );
  assertThrows(
    () => saveModel({ dir: "x", evry: "epoch" } as never),
    TypeError,
    "did you mean 'every'?",
  );
  assertThrows(
    () => csvLogger({ file: "h.csv" } as never),
    TypeError,
    "Cannot create csvLogger as 'file' is not an option: options are path, append, now",
  );
  assertThrows(
    () => timeLimit({ seconds: "60" as never }),
    RangeError,
    `current value is "60" (a string)`,
  );
  assertThrows(
    () => timeLimit(undefined as never),
    TypeError,
    "Cannot create timeLimit as its options must be given: { seconds }",
  );
});

Deno.test("lrFind() with startLr above endLr (a test that runs backwards): refused, nothing changed", async () => {
  const r = await rig();
  await r.expectNothingChanged(
    () => lrFind(r.learn, { startLr: 1, endLr: 1e-5 }),
    RangeError,
    "Cannot create lrFinder as 'endLr' must be greater than 'startLr' (the test raises the lr): " +
      "current values are startLr 1 and endLr 0.00001",
  );
  await r.expectNothingChanged(
    () => lrFind(r.learn, { numIter: 50 } as never),
    TypeError,
    "Cannot run lrFind as 'numIter' is not an option: did you mean 'numIt'?",
  );
  await r.dispose();
});

Deno.test("learner() and batches() options: unknown keys and wrong kinds, with the fix", async () => {
  const r = await rig();
  const model = r.learn.model;
  const train = r.learn.data.train;
  assertThrows(
    () => learner({ model, data: { train }, loss: crossEntropy, metric: [accuracy] } as never),
    TypeError,
    "Cannot create learner as 'metric' is not an option: did you mean 'metrics'?",
  );
  assertThrows(
    () => learner({ model, data: { train, validation: train } as never, loss: crossEntropy }),
    TypeError,
    "Cannot create learner as 'data.validation' is not a data field: did you mean 'valid'?",
  );
  assertThrows(
    () => learner({ model, data: { train }, loss: crossEntropy, metrics: ["accuracy"] as never }),
    TypeError,
    `'metrics' must be an array of metrics ({ name, fn }, such as accuracy): current value is ["accuracy"]`,
  );
  assertThrows(
    () => learner({ model, data: { train }, loss: crossEntropy, optimizer: adam as never }),
    TypeError,
    "(call it: adam())",
  );
  assertThrows(
    () => learner({ model, data: { train }, loss: crossEntropy, lr: "1e-3" as never }),
    TypeError,
    `Cannot create learner as 'lr' must be a number`,
  );
  const before = tf.memory().numTensors;
  assertThrows(
    () => batches([[1, 2], [3, 4]], [0, 1], { batchsize: 1 } as never),
    TypeError,
    "Cannot make batches as 'batchsize' is not an option: did you mean 'batchSize'?",
  );
  assertThrows(() => batches([[1, 2], [3]], [0, 1]), RangeError, "'x' must be rectangular");
  assertThrows(
    () => batches([[1, 2], [3, "4"]] as never, [0, 1]),
    TypeError,
    `'x[1][1]' must be a number`,
  );
  assertEquals(tf.memory().numTensors, before);
  await r.dispose();
});

Deno.test("a tf.data.Dataset of single samples (no .batch(n)), or of other elements: refused", async () => {
  const r = await rig();
  const rows = Array.from({ length: 8 }, (_, i) => [i, -i]);
  const labels = rows.map((_, i) => i % 2);
  const unbatched = tf.data.zip({ xs: tf.data.array(rows), ys: tf.data.array(labels) });
  const loose = learner({ model: r.learn.model, data: { train: unbatched }, loss: crossEntropy });
  loose.optState = r.learn.optState;
  const before = await capture(loose, r.dir);
  await assertRejects(
    () => fit(loose, 1),
    TypeError,
    "Cannot train on a batch as its inputs and targets must be tensors: x is [0, 0] (an array) " +
      "and y is 0 (a tf.data.Dataset of plain values yields tensors only after .batch(n))",
  );
  const odd = learner({
    model: r.learn.model,
    data: { train: tf.data.array(rows).batch(4) },
    loss: crossEntropy,
  });
  odd.optState = r.learn.optState;
  await assertRejects(
    () => fit(odd, 1),
    TypeError,
    "Cannot train on a batch as it must be [x, y] or { xs, ys }",
  );
  await assertUnchanged(loose, r.dir, before);
  await r.dispose();
});

// ---- immutability ----

Deno.test("a hook that mutates its state throws a TypeError (strict mode), before any step", async () => {
  const r = await rig();
  const mutations: [string, (s: TrainState) => void][] = [
    ["hypers[0].lr", (s) => void ((s.hypers[0] as { lr: number }).lr = 123)],
    ["hypers array", (s) => void (s.hypers as unknown[]).push({})],
    ["a state field", (s) => void ((s as { epoch: number }).epoch = 5)],
    ["metricNames", (s) => void ((s.metricNames as string[])[0] = "x")],
    ["the smoothed-loss log", (s) => void ((s.smoothLosses as { length: number }).length = 0)],
  ];
  for (const [what, mutate] of mutations) {
    const before = await capture(r.learn, r.dir);
    await assertRejects(
      () => fit(r.learn, 1, { callbacks: [hook("mutant", { onEpochBegin: (s) => mutate(s) })] }),
      TypeError,
      "Callback 'mutant' assigned to a frozen value in onEpochBegin (",
      what,
    );
    await assertUnchanged(r.learn, r.dir, before);
  }
  // memory the handler wrote: s.memory.x.y = …
  const writer = hook("x", { onTrainBegin: () => ({ memory: { y: 1, deep: { z: [1] } } }) });
  for (
    const mutate of [
      (s: TrainState) => void ((s.memory.x as { y: number }).y = 2),
      (s: TrainState) => void ((s.memory as Record<string, unknown>).other = 1),
      (s: TrainState) => void (memoryOf(s, "x", { deep: { z: [0] } }).deep.z as number[]).push(2),
    ]
  ) {
    await r.expectNothingChanged(
      () => fit(r.learn, 1, { callbacks: [writer, hook("mutant", { onEpochBegin: mutate })] }),
      TypeError,
      "the state and the records in it are frozen; a hook returns an update instead",
    );
  }
  await r.dispose();
});

Deno.test("every state a hook sees is frozen, with its hypers, metrics, memory and logs", async () => {
  const r = await rig();
  const problems: string[] = [];
  const check: Record<string, unknown> = {
    name: "inspector",
    onTrainBegin: () => ({ memory: { a: [1] } }),
  };
  for (
    const ev of [
      "onEpochBegin",
      "onBatchBegin",
      "onLossBegin",
      "onBackwardBegin",
      "onBackwardEnd",
      "onStepEnd",
      "onBatchEnd",
      "onEpochEnd",
      "onTrainEnd",
    ]
  ) {
    check[ev] = (s: TrainState) => {
      const parts: [string, unknown][] = [
        ["state", s],
        ["hypers", s.hypers],
        ["hypers[0]", s.hypers[0]],
        ["metricNames", s.metricNames],
        ["lastMetrics", s.lastMetrics],
        ["memory", s.memory],
        ["memory.inspector", s.memory.inspector],
        ["memory.recorder", s.memory.recorder],
        ["smoother", s.smoother],
        ["smoothLosses", s.smoothLosses],
      ];
      for (const [what, v] of parts) {
        if (v !== undefined && !Object.isFrozen(v)) problems.push(`${ev} ${s.train}: ${what}`);
      }
    };
  }
  await fit(r.learn, 2, { callbacks: [check as unknown as Callback] });
  assertEquals([...new Set(problems)], []);
  await r.dispose();
});

Deno.test("history cannot be rewritten through what fit returns", async () => {
  const r = await rig();
  const { state, history } = await fit(r.learn, 1);
  const losses = logToArray(state.smoothLosses);
  history.losses[0] = 999;
  logToArray(state.smoothLosses)[0] = 999;
  assertEquals(logToArray(state.smoothLosses), losses);
  await r.dispose();
});

// ---- concurrency and errors ----

Deno.test("a second fit on a busy learner is refused; the first trains as if alone", async () => {
  const r = await rig();
  const model = r.learn.model as tf.LayersModel;
  const start = model.getWeights().map((w) => w.clone());
  const startOpt = await capture(r.learn, r.dir);
  const first = fit(r.learn, 2, { lr: 1e-2 });
  await assertRejects(
    () => fit(r.learn, 2, { lr: 1 }),
    TypeError,
    "Cannot fit as this learner is busy with a fit that has not finished",
  );
  await assertRejects(
    () => lrFind(r.learn),
    TypeError,
    "Cannot run lrFind as this learner is busy",
  );
  await first;
  const together = await capture(r.learn, r.dir);
  // the same fit alone, from the same weights and optimizer state
  model.setWeights(start);
  const slots = Object.values(r.learn.optState!.slots).flat();
  slots.forEach((v, i) => v.assign(tf.tensor(startOpt.slots[i]!, v.shape)));
  r.learn.optState = { ...r.learn.optState!, step: startOpt.step!, steps: startOpt.steps ?? {} };
  await fit(r.learn, 2, { lr: 1e-2 });
  const alone = await capture(r.learn, r.dir);
  assertEquals(together.weights, alone.weights);
  tf.dispose(start);
  // idle again after an error
  await assertRejects(() =>
    fit(r.learn, 1, {
      callbacks: [hook("boom", {
        onEpochBegin: () => {
          throw new Error("boom");
        },
      })],
    })
  );
  await fit(r.learn, 1);
  await r.dispose();
});

Deno.test("an error in onTrainEnd after a training error keeps both (AggregateError)", async () => {
  const r = await rig();
  const error = await assertRejects(() =>
    fit(r.learn, 1, {
      callbacks: [hook("twice", {
        onEpochBegin: () => {
          throw new RangeError("first");
        },
        onTrainEnd: () => {
          throw new TypeError("second");
        },
      })],
    })
  );
  assertInstanceOf(error, AggregateError);
  const errors = (error as AggregateError).errors;
  assertEquals(errors.map((e: Error) => [e.name, e.message]), [["RangeError", "first"], [
    "TypeError",
    "second",
  ]]);
  assertStringIncludes((error as Error).message, "RangeError: first");
  assertStringIncludes((error as Error).message, "TypeError: second");
  await r.dispose();
});

// ---- what now works as a user expects ----

Deno.test("batches(number[][], number[]) trains as the same data in tensors does", async () => {
  const xs = Array.from({ length: 48 }, (_, i) => [Math.sin(i), Math.cos(i * 1.3)]);
  const ys = xs.map(([a, b]) => (a! + b! > 0 ? 1 : 0));
  const run = async (train: ReturnType<typeof batches>) => {
    const model = mlp(11);
    const learn = learner({ model, data: { train }, loss: crossEntropy, optimizer: adam() });
    const { history } = await fit(learn, 2, { lr: 1e-2 });
    disposeLearner(learn);
    model.dispose();
    return history.losses;
  };
  const before = tf.memory().numTensors;
  const fromArrays = batches(xs, ys, { batchSize: 16 });
  assertEquals([fromArrays.x.shape, fromArrays.y.shape], [[48, 2], [48]]);
  const a = await run(fromArrays);
  fromArrays.dispose();
  assertEquals(tf.memory().numTensors, before);
  const x = tf.tensor2d(xs);
  const y = tf.tensor1d(ys);
  const b = await run(batches(x, y, { batchSize: 16 }));
  tf.dispose([x, y]);
  assertEquals(a, b);
});

Deno.test("timeLimit + snapshot + resume: a preemptible job trains every batch, as one run would", async () => {
  const setup = () => {
    const train = blobs(64, 21, 8); // 8 batches per epoch
    const model = mlp(13);
    const learn = learner({ model, data: { train }, loss: crossEntropy });
    return {
      learn,
      model,
      dispose: () => (disposeLearner(learn), disposeBatches(train), model.dispose()),
    };
  };
  // the uninterrupted run: 3 epochs
  const one = setup();
  const whole = await fit(one.learn, 3, { lr: 1e-2 });
  const wholeWeights = await capture(one.learn, ".");
  // the job: each slice may run 5 batches (the clock moves 1 s per batch), then snapshots
  const job = setup();
  let t = 0;
  const tick = hook("tick", { onBatchEnd: (s) => void (s.train && (t += 1000)) });
  const dir = await Deno.makeTempDir();
  const slices: number[] = [];
  let resume: string | undefined;
  for (let slice = 0; slice < 10; slice++) {
    const result = await fit(job.learn, 3, {
      lr: 1e-2,
      callbacks: [tick, timeLimit({ seconds: 5, now: () => t })],
      ...(resume ? { resume } : {}),
    });
    slices.push(result.state.iteration);
    await snapshot(job.learn, result, { dir: `${dir}/snap` });
    resume = `${dir}/snap`;
    if (result.state.iteration >= 24) break;
  }
  assertEquals(slices, [5, 10, 15, 20, 24]);
  const jobWeights = await capture(job.learn, ".");
  assertEquals(jobWeights.weights, wholeWeights.weights);
  assertEquals(jobWeights.step, 24);
  assert(whole.history.losses.length === 24);
  one.dispose();
  job.dispose();
  await Deno.remove(dir, { recursive: true });
});

import * as tf from "@tensorflow/tfjs";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertGreater,
  assertRejects,
  assertStrictEquals,
} from "@std/assert";
import { type Callback, EVENTS } from "../../core/callback.ts";
import { batches } from "../../core/data.ts";
import { fit } from "../../core/fit.ts";
import { disposeLearner, learner } from "../../core/learner.ts";
import { crossEntropy, mse } from "../../core/losses.ts";
import { accuracy } from "../../core/metrics.ts";
import { sgd } from "../../optim/sgd.ts";
import type { TrainState } from "../../core/state.ts";
import { blobs, disposeBatches, mlp, num, scaleModel, useCpu } from "../_helpers.ts";

await useCpu();

/** x = [1, 1, 2, 2], y = [2, 2, 2, 2]: two batches of two, in order. */
function twoBatches(): { x: tf.Tensor; y: tf.Tensor; dispose(): void } {
  const x = tf.tensor1d([1, 1, 2, 2]);
  const y = tf.tensor1d([2, 2, 2, 2]);
  return { x, y, dispose: () => tf.dispose([x, y]) };
}

function tracer(into: string[]): Callback {
  const cb: Record<string, unknown> = { name: "tracer" };
  for (const ev of EVENTS) {
    cb[ev] = (s: TrainState) => {
      into.push(`${ev} it=${s.iteration} nb=${s.numBatch} train=${s.train}`);
    };
  }
  return cb as unknown as Callback;
}

Deno.test("fit() fires the events in fastai's order with the iteration/numBatch/train each hook saw", async () => {
  const d = twoBatches();
  const model = scaleModel();
  const train = batches(d.x, d.y, { batchSize: 2 });
  const valid = batches(d.x.slice(0, 2), d.y.slice(0, 2), { batchSize: 2 });
  const learn = learner({ model, data: { train, valid }, loss: mse, optimizer: sgd() });
  const trace: string[] = [];
  await fit(learn, 1, { lr: 0.01, callbacks: [tracer(trace)] });
  assertEquals(trace, [
    "onTrainBegin it=0 nb=0 train=true",
    "onEpochBegin it=0 nb=0 train=true",
    "onBatchBegin it=0 nb=0 train=true",
    "onLossBegin it=0 nb=0 train=true",
    "onBackwardBegin it=0 nb=0 train=true",
    "onBackwardEnd it=0 nb=0 train=true",
    "onStepEnd it=0 nb=0 train=true",
    "onBatchEnd it=0 nb=0 train=true",
    "onBatchBegin it=1 nb=1 train=true",
    "onLossBegin it=1 nb=1 train=true",
    "onBackwardBegin it=1 nb=1 train=true",
    "onBackwardEnd it=1 nb=1 train=true",
    "onStepEnd it=1 nb=1 train=true",
    "onBatchEnd it=1 nb=1 train=true",
    "onBatchBegin it=2 nb=2 train=false",
    "onLossBegin it=2 nb=2 train=false",
    "onBatchEnd it=2 nb=2 train=false",
    "onEpochEnd it=2 nb=2 train=false",
    "onTrainEnd it=2 nb=2 train=false",
  ]);
  disposeLearner(learn);
  disposeBatches(valid);
  d.dispose();
  model.dispose();
});

async function oneStep(callbacks: Callback[], lr = 0.1): Promise<number> {
  // One batch x=[1], y=[2], w=0, mse, plain SGD: the gradient is -4, so w becomes 0.4.
  const model = scaleModel(0);
  const x = tf.tensor1d([1]);
  const y = tf.tensor1d([2]);
  const learn = learner({ model, data: { train: [[x, y]] }, loss: mse, optimizer: sgd() });
  await fit(learn, 1, { lr, callbacks });
  const w = await num(model.w);
  disposeLearner(learn);
  tf.dispose([x, y]);
  model.dispose();
  return w;
}

Deno.test("replacing input, output and loss changes the step as the algebra predicts", async () => {
  assertAlmostEquals(await oneStep([]), 0.4, 1e-6);
  // target doubled: grad = 2(0 - 4) = -8
  assertAlmostEquals(
    await oneStep([{ name: "t", onBatchBegin: (s) => ({ lastTarget: tf.mul(s.lastTarget!, 2) }) }]),
    0.8,
    1e-6,
  );
  // input tripled: grad = 2(0 - 2) * 3 = -12
  assertAlmostEquals(
    await oneStep([{
      name: "i",
      onBatchBegin: (s) => ({ lastInput: tf.mul(s.lastInput as tf.Tensor, 3) }),
    }]),
    1.2,
    1e-6,
  );
  // output doubled: L = (2wx - y)^2, dL/dw = 2(0 - 2) * 2 = -8
  assertAlmostEquals(
    await oneStep([{ name: "o", onLossBegin: (s) => ({ lastOutput: tf.mul(s.lastOutput!, 2) }) }]),
    0.8,
    1e-6,
  );
  // loss tripled: grad -12
  assertAlmostEquals(
    await oneStep([{ name: "l", onBackwardBegin: (s) => ({ lastLoss: tf.mul(s.lastLoss!, 3) }) }]),
    1.2,
    1e-6,
  );
  // gradients replaced by half in onBackwardEnd: -2
  assertAlmostEquals(
    await oneStep([{
      name: "g",
      onBackwardEnd: (s) => ({
        grads: Object.fromEntries(Object.entries(s.grads!).map(([k, g]) => [k, tf.mul(g, 0.5)])),
      }),
    }]),
    0.2,
    1e-6,
  );
});

Deno.test("skipStep leaves the weights unchanged; skipBackward computes no gradients", async () => {
  assertEquals(await oneStep([{ name: "s", onBackwardEnd: () => ({ skipStep: true }) }]), 0);
  let grads: unknown = "unset";
  const before = tf.memory().numTensors;
  assertEquals(
    await oneStep([
      { name: "b", onBackwardBegin: () => ({ skipBackward: true }) },
      { name: "seen", onBackwardEnd: (s) => void (grads = s.grads) },
    ]),
    0,
  );
  assertEquals(grads, undefined);
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("skipZero keeps the gradients and adds the next batch's to them", async () => {
  const d = twoBatches();
  const model = scaleModel(0);
  const learn = learner({
    model,
    data: { train: batches(d.x, d.y, { batchSize: 2 }) },
    loss: mse,
    optimizer: sgd(),
  });
  const seen: number[] = [];
  const accumulate: Callback = {
    name: "acc",
    onBackwardEnd: (s) => (s.numBatch === 0 ? { skipStep: true } : undefined),
    onStepEnd: (s) => (s.numBatch === 0 ? { skipZero: true } : undefined),
  };
  const probe: Callback = {
    name: "probe",
    order: 1,
    needsLoss: true,
    onBackwardEnd: async (s) => void seen.push(await num(Object.values(s.grads!)[0]!)),
  };
  const before = tf.memory().numTensors;
  await fit(learn, 1, { lr: 0.1, callbacks: [accumulate, probe] });
  // batch 0: grad -4 (kept), batch 1: grad -8, summed -12, one step of 0.1
  assertEquals(seen.map((g) => Math.round(g * 1e4) / 1e4), [-4, -12]);
  assertAlmostEquals(await num(model.w), 1.2, 1e-6);
  assertEquals(tf.memory().numTensors, before + 1); // plus the SGD slot
  disposeLearner(learn);
  d.dispose();
  model.dispose();
});

Deno.test("skipValidate skips validation and leaves NaN metrics", async () => {
  const train = blobs(64, 3);
  const valid = blobs(32, 4);
  const model = mlp();
  const learn = learner({ model, data: { train, valid }, loss: crossEntropy, metrics: [accuracy] });
  const trace: string[] = [];
  const { state, history } = await fit(learn, 2, {
    callbacks: [tracer(trace), { name: "skip", onTrainBegin: () => ({ skipValidate: true }) }],
  });
  assertEquals(trace.filter((t) => t.includes("train=false") && t.includes("Batch")), []);
  assert(Number.isNaN(state.lastMetrics[0]!));
  assertEquals(history.valLosses.length, 2);
  assert(history.valLosses.every(Number.isNaN));
  disposeLearner(learn);
  disposeBatches(train, valid);
  model.dispose();
});

Deno.test("stopEpoch ends the epoch's batches; stopTraining ends training after the epoch", async () => {
  const train = blobs(128, 5); // 4 batches
  const valid = blobs(32, 6);
  const model = mlp();
  const learn = learner({ model, data: { train, valid }, loss: crossEntropy });
  const stopEpoch: Callback = {
    name: "se",
    onBatchEnd: (s) => (s.train && s.numBatch === 1 ? { stopEpoch: true } : undefined),
  };
  const r1 = await fit(learn, 3, { callbacks: [stopEpoch] });
  assertEquals(r1.history.nBatches, [2, 2, 2]);
  assertEquals(r1.state.iteration, 6);
  assertEquals(r1.history.valLosses.every(Number.isFinite), true); // validation still ran
  const stopTraining: Callback = {
    name: "st",
    onEpochEnd: (s) => (s.epoch === 1 ? { stopTraining: true } : undefined),
  };
  const r2 = await fit(learn, 5, { callbacks: [stopTraining] });
  assertEquals(r2.history.nBatches, [4, 4]);
  const fromBatch: Callback = {
    name: "sb",
    onBatchEnd: (s) => (s.train && s.iteration === 5 ? { stopTraining: true } : undefined),
  };
  const r3 = await fit(learn, 5, { callbacks: [fromBatch] });
  assertEquals(r3.history.nBatches, [4, 2]);
  assertEquals(r3.history.valLosses.length, 2);
  disposeLearner(learn);
  disposeBatches(train, valid);
  model.dispose();
});

Deno.test("a fit leaves tf.memory().numTensors where it was, plus the optimizer state, and never grows", async () => {
  const train = blobs(96, 7);
  const valid = blobs(32, 8);
  const model = mlp();
  const learn = learner({ model, data: { train, valid }, loss: crossEntropy, metrics: [accuracy] });
  const before = tf.memory().numTensors;
  await fit(learn, 1);
  const slots = 2 * 4; // adam: 2 slots for each of 4 variables
  assertEquals(tf.memory().numTensors, before + slots);
  await fit(learn, 4, { callbacks: [{ name: "needs", needsLoss: true }] });
  assertEquals(tf.memory().numTensors, before + slots);
  disposeLearner(learn);
  assertEquals(tf.memory().numTensors, before);
  disposeBatches(train, valid);
  model.dispose();
});

Deno.test("an error in a hook reaches onTrainEnd, then the caller unchanged, and leaks nothing", async () => {
  const train = blobs(96, 9);
  const model = mlp();
  const learn = learner({ model, data: { train }, loss: crossEntropy });
  const boom = new Error("boom");
  let seenInTrainEnd: unknown;
  const before = tf.memory().numTensors;
  const thrown = await assertRejects(() =>
    fit(learn, 2, {
      callbacks: [
        {
          name: "bomb",
          onBackwardEnd: (s) => {
            if (s.iteration === 4) throw boom;
          },
        },
        { name: "end", onTrainEnd: (s) => void (seenInTrainEnd = s.error) },
      ],
    })
  );
  assertStrictEquals(thrown, boom);
  assertStrictEquals(seenInTrainEnd, boom);
  disposeLearner(learn);
  assertEquals(tf.memory().numTensors, before);
  disposeBatches(train);
  model.dispose();
});

Deno.test("a real model learns: a 2-16-2 MLP reaches over 90% validation accuracy", async () => {
  const train = blobs(512, 11);
  const valid = blobs(256, 12);
  const model = mlp(3);
  const learn = learner({ model, data: { train, valid }, loss: crossEntropy, metrics: [accuracy] });
  const { state, history } = await fit(learn, 5, { lr: 1e-2 });
  assertEquals(state.metricNames, ["validLoss", "accuracy"]);
  assertGreater(state.lastMetrics[1]!, 0.9);
  assertEquals(history.nBatches, [16, 16, 16, 16, 16]);
  assertEquals(history.losses.length, 80);
  assertEquals(history.lrs.length, 80);
  assert(history.lrs.every((lr) => lr === 1e-2));
  assert(history.moms.every((m) => m === 0.9));
  assertEquals(history.metrics.length, 5);
  assertEquals(history.metricNames, ["accuracy"]);
  assertGreater(history.losses[0]!, history.losses.at(-1)!);
  disposeLearner(learn);
  disposeBatches(train, valid);
  model.dispose();
});

Deno.test("losses read lagged (default) equal losses read every batch (needsLoss)", async () => {
  const run = async (callbacks: Callback[], lossReadEvery?: number) => {
    const train = blobs(160, 13);
    const model = mlp(5);
    const learn = learner({ model, data: { train }, loss: crossEntropy, optimizer: sgd() });
    const { history } = await fit(learn, 2, {
      lr: 0.1,
      callbacks,
      ...(lossReadEvery ? { lossReadEvery } : {}),
    });
    disposeLearner(learn);
    disposeBatches(train);
    model.dispose();
    return history.losses;
  };
  const seenAtBackwardEnd: number[] = [];
  const eager = await run([{
    name: "watch",
    needsLoss: true,
    onBackwardEnd: (s) => void seenAtBackwardEnd.push(s.smoothLoss),
  }]);
  const lagged = await run([]);
  const odd = await run([], 3);
  assertEquals(eager.length, 10);
  assertEquals(lagged, eager);
  assertEquals(odd, eager);
  // with needsLoss, smoothLoss in onBackwardEnd already includes the batch in hand
  assertEquals(seenAtBackwardEnd, eager);
});

Deno.test("a non-finite loss is recorded as it is", async () => {
  const model = scaleModel(1);
  const x = tf.tensor1d([1]);
  const y = tf.tensor1d([1]);
  const nanLoss = (o: tf.Tensor, t: tf.Tensor) => tf.div(mse(o, t), 0) as tf.Scalar;
  const learn = learner({ model, data: { train: [[x, y]] }, loss: nanLoss, optimizer: sgd() });
  const { history } = await fit(learn, 2);
  assertEquals(history.losses.length, 2);
  assert(history.losses.every(Number.isNaN));
  disposeLearner(learn);
  tf.dispose([x, y]);
  model.dispose();
});

Deno.test("bad input gets a clear error before any weight changes", async () => {
  const model = scaleModel(0.5);
  const x = tf.tensor1d([1, 2]);
  const y3 = tf.tensor1d([1, 2, 3]);
  const y2 = tf.tensor2d([[1, 0, 0], [0, 1, 0]]);
  const learn = (train: unknown, loss = mse) =>
    learner({ model, data: { train: train as [] }, loss, optimizer: sgd() });
  await assertRejects(
    () => fit(learn([[x, x]]), 0),
    RangeError,
    "'epochs' must be a positive integer: current value is 0",
  );
  await assertRejects(() => fit(learn([[x, x]]), 1.5), RangeError, "current value is 1.5");
  await assertRejects(() => fit(learn([]), 1), RangeError, "training data is empty");
  await assertRejects(
    () => fit(learn((async function* () {})()), 1),
    RangeError,
    "yielded 0 batches",
  );
  await assertRejects(
    () => fit(learn([[x, y3]]), 1),
    RangeError,
    "input has shape [2] and target has shape [3]",
  );
  await assertRejects(
    () => fit(learn([[x, y2]], crossEntropy), 1),
    RangeError,
    "output has shape [2] and target has shape [2,3]",
  );
  await assertRejects(
    () => fit(learn([[x, x]]), 1, { lr: [0.1, 0.2] }),
    RangeError,
    "'lr' has 2 values for 1 layer groups",
  );
  assertEquals(await num(model.w), 0.5);
  tf.dispose([x, y3, y2]);
  model.dispose();
});

Deno.test("an async hook in onLossBegin during training is refused, naming the callback", async () => {
  const model = scaleModel(0);
  const x = tf.tensor1d([1]);
  const learn = learner({ model, data: { train: [[x, x]] }, loss: mse, optimizer: sgd() });
  const before = tf.memory().numTensors;
  await assertRejects(
    () => fit(learn, 1, { callbacks: [{ name: "later", onLossBegin: async () => {} }] }),
    TypeError,
    "Callback 'later' returned a promise from onLossBegin",
  );
  assertEquals(tf.memory().numTensors, before);
  tf.dispose(x);
  model.dispose();
});

Deno.test("fit() takes a tf.data.Dataset and an async iterable, and disposes only what it owns", async () => {
  const xs = tf.randomNormal([40, 2], 0, 1, "float32", 21);
  const ys = tf.tidy(() => tf.cast(tf.greater(tf.sum(xs, 1), 0), "int32"));
  const ds = tf.data.zip({ xs: tf.data.array(tf.unstack(xs)), ys: tf.data.array(tf.unstack(ys)) })
    .batch(8);
  const model = mlp(7);
  const before = tf.memory().numTensors;
  const learn = learner({
    model,
    data: { train: ds as never, valid: ds as never },
    loss: crossEntropy,
  });
  const r = await fit(learn, 2);
  assertEquals(r.history.nBatches, [5, 5]);
  assert(Number.isFinite(r.state.lastMetrics[0]!));
  disposeLearner(learn);
  assertEquals(tf.memory().numTensors, before);
  const pairs = [[xs, ys]] as const;
  async function* gen() {
    yield* pairs;
  }
  const learn2 = learner({
    model,
    data: { train: { [Symbol.asyncIterator]: gen } },
    loss: crossEntropy,
  });
  const r2 = await fit(learn2, 3);
  assertEquals(r2.history.nBatches, [1, 1, 1]);
  assertEquals(xs.isDisposed, false); // the caller's tensors are left alone
  disposeLearner(learn2);
  assertEquals(tf.memory().numTensors, before);
  tf.dispose([xs, ys]);
  model.dispose();
});

Deno.test("per-group learning rates move each layer group by its own lr", async () => {
  const a = tf.variable(tf.scalar(0));
  const b = tf.variable(tf.scalar(0));
  const model = {
    variables: [a, b],
    apply: (x: tf.Tensor | tf.Tensor[]) =>
      tf.add(tf.mul(x as tf.Tensor, a), tf.mul(x as tf.Tensor, b)),
  };
  const x = tf.tensor1d([1]);
  const y = tf.tensor1d([2]);
  const learn = learner({
    model,
    data: { train: [[x, y]] },
    loss: mse,
    optimizer: sgd(),
    layerGroups: [[a], [b]],
  });
  await fit(learn, 1, { lr: [0.1, 0.2] });
  // both gradients are -4
  assertAlmostEquals(await num(a), 0.4, 1e-6);
  assertAlmostEquals(await num(b), 0.8, 1e-6);
  disposeLearner(learn);
  tf.dispose([a, b, x, y]);
});

Deno.test("tensors a hook puts in the state are freed even when a later hook of the same event replaces them", async () => {
  const train = blobs(64, 15);
  const model = mlp();
  const learn = learner({ model, data: { train }, loss: crossEntropy, optimizer: sgd() });
  const halve = (name: string): Callback => ({
    name,
    onBackwardEnd: (s) => ({
      grads: Object.fromEntries(Object.entries(s.grads!).map(([k, g]) => [k, tf.mul(g, 0.5)])),
    }),
  });
  const before = tf.memory().numTensors;
  await fit(learn, 2, { callbacks: [halve("a"), halve("b"), halve("c")] });
  assertEquals(tf.memory().numTensors, before + 4); // the SGD slots
  disposeLearner(learn);
  disposeBatches(train);
  model.dispose();
});
